/** How the downloader tells failures apart: write and stall errors, and which failures a retry may cure. */
import { describeFetchError } from "../hf-client.js";
import { HubError, InsufficientStorageError, PullCancelledError, UpstreamError } from "../hub-errors.js";
import { BlobWriteError } from "./blob-writer.js";
import type { StatFs } from "./download-types.js";
import { freeBytes } from "./free-space.js";

/** Writing to the partial file failed: not retryable. */
export class WriteError extends Error {}

/** A connection delivered no byte for the stall timeout. */
export class StallError extends Error {
  constructor(readonly ms: number) {
    super(`no data for ${ms} ms`);
  }
}

/** Whether a range fetch failure is worth retrying, and the error to report. */
export function classify(err: unknown): { retryable: boolean; error: unknown; stalled: boolean; delayMs?: number } {
  if (err instanceof StallError) return { retryable: true, error: err, stalled: true };
  if (err instanceof UpstreamError) {
    const delay = err.details?.retry_after_ms;
    return { retryable: err.retryable, error: err, stalled: false, delayMs: typeof delay === "number" ? delay : undefined };
  }
  if (err instanceof HubError || err instanceof WriteError) return { retryable: false, error: err, stalled: false };
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  // A certificate the system does not trust will not become trusted by retrying.
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return {
      retryable: false,
      error: new UpstreamError(`TLS error: ${describeFetchError(err)}`, false, undefined, { cause: err }),
      stalled: false,
    };
  }
  // Network failures (resets, refused connections, DNS hiccups, TLS errors mid-stream) are transient.
  return {
    retryable: true,
    error: new UpstreamError(`network error: ${describeFetchError(err)}`, true, undefined, { cause: err }),
    stalled: false,
  };
}

/**
 * What a failed write of `label` becomes: a full disk or quota (the bytes still `needed` against what is free in
 * `blobsDir`), else a WriteError. Neither is retried.
 */
export async function writeFailure(
  err: unknown,
  at: { label: string; needed: number; blobsDir: string; statfs?: StatFs },
): Promise<Error> {
  const code = err instanceof BlobWriteError ? err.code : undefined;
  if (code === "ENOSPC" || code === "EDQUOT") {
    const free = (await freeBytes(at.blobsDir, at.statfs)) ?? 0;
    return new InsufficientStorageError(at.needed, free, at.blobsDir);
  }
  return new WriteError(`writing ${at.label}: ${(err as Error).message}`, { cause: err });
}

/** The error a cancelled download throws. */
export function cancelReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof HubError ? reason : new PullCancelledError();
}
