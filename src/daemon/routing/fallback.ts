/**
 * Trying backends in order: the first that serves wins; a failure before its first byte lets the next try when it is
 * of a kind another backend could fix (missing or failed local model, full queue, an input the local model cannot
 * take, upstream connection error, timeout, 429, 5xx, a route's own limit). A bad request fails the same everywhere
 * and is answered at once.
 */
import type { Logger } from "../../observability/logger.js";
import { isBadRequestCode } from "../../protocol/errors.js";
import { HttpError, modelNotFound, UnsupportedInputError } from "../errors.js";
import { currentRecord } from "./request-record.js";
import { backendLabel, type Route } from "./route.js";
import { UpstreamError } from "./upstream-errors.js";

/** One way to serve a name. */
export type Candidate = { kind: "local"; model: string } | { kind: "route"; route: Route; model: string };

/** What a backend that served gives back, and the label it is known by (`x-mlxm-backend`, rows, spans). */
export interface Served<T> {
  label: string;
  result: T;
}

export async function firstThatServes<T>(
  model: string,
  candidates: Candidate[],
  signal: AbortSignal,
  logger: Logger,
  attempt: (c: Candidate) => Promise<Served<T>>,
): Promise<Served<T>> {
  let firstError: unknown;
  for (const [i, c] of candidates.entries()) {
    try {
      return await attempt(c);
    } catch (err) {
      firstError ??= err;
      if (i === candidates.length - 1 || signal.aborted || !mayFallBack(err, c)) throw pickError(firstError, err);
      // A backend that cannot take the input (a text model given images) is routing as configured, not a failure.
      if (err instanceof UnsupportedInputError) logger.debug({ model, backend: describe(c), reason: err.message }, "backend cannot take this input; trying the next");
      else logger.warn({ model, backend: describe(c), err: errorText(err) }, "backend failed before its first byte; trying the next");
      // The failed attempt wrote its failure on the request's row; the next backend may yet serve it, and a row with an
      // error counts as failed in `mlxm usage`. The failure stays on that attempt's span and in the log line above.
      const record = currentRecord();
      if (record) record.error = undefined;
    }
  }
  throw modelNotFound(model);
}

/** Whether a failure of `c` before its first event lets the next backend try. */
function mayFallBack(err: unknown, c: Candidate): boolean {
  if (err instanceof UpstreamError) return err.retriable;
  // The local model cannot take this input (images, a suffix); a route of the name may.
  if (err instanceof UnsupportedInputError) return true;
  if (!(err instanceof HttpError)) return c.kind === "local";
  // A bad request fails the same way everywhere; a cancelled one has no one left to answer.
  return !isBadRequestCode(err.code) && !["cancelled", "payload_too_large"].includes(err.code);
}

/**
 * The error worth reporting: a missing local model, or one that cannot take the input, says less than the upstream
 * failure that followed it (a key not set, an upstream down), which is what the caller can fix.
 */
function pickError(first: unknown, last: unknown): unknown {
  return first instanceof UnsupportedInputError || (first instanceof HttpError && first.code === "model_not_found") ? last : first;
}

export function describe(c: Candidate): string {
  return c.kind === "local" ? "local" : backendLabel(c.route, c.model);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
