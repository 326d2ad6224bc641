/**
 * Upstream failures as typed errors. Both SDKs throw `APIError` subclasses with a status and headers; they become an
 * `UpstreamError` (an HttpError, so every protocol renders it) that says whether a fallback may take over: only
 * failures before any output, of the kinds another backend could fix (connection, timeout, 429, 5xx).
 * The upstream's message is passed on with the key scrubbed, in case an upstream echoes it (whole, masked or cut).
 */
import type { ErrorCode } from "../../protocol/errors.js";
import { scrubSecret } from "../../observability/redact.js";
import { HttpError } from "../errors.js";
import { loadedSdks } from "./upstream-sdks.js";

export class UpstreamError extends HttpError {
  constructor(
    code: ErrorCode,
    message: string,
    /** True when another backend may be tried (nothing was sent to the client yet). */
    readonly retriable: boolean,
    headers?: Record<string, string>,
    readonly upstreamStatus?: number,
  ) {
    super(code, message, upstreamStatus !== undefined ? { upstream_status: upstreamStatus } : undefined, headers);
    this.name = "UpstreamError";
  }
}

/** An upstream whose stream ended before its first event: nothing reached the caller, so another backend may serve. */
export function noEvents(label: string): UpstreamError {
  return new UpstreamError("upstream_error", `upstream ${label} ended the stream without sending an event`, true);
}

/** Removes `secret`, and any part of it an upstream echoes (a masked or truncated key), from a text it sent. */
export function scrubber(secret: string | undefined): (text: string) => string {
  if (!secret || secret.length < 4) return (text) => text;
  return (text) => scrubSecret(text, secret);
}

/** True for the SDKs' abort errors (the client went away). */
export function isAbortError(err: unknown): boolean {
  const { openai, anthropic } = loadedSdks;
  return (openai !== undefined && err instanceof openai.APIUserAbortError) || (anthropic !== undefined && err instanceof anthropic.APIUserAbortError) || (err instanceof Error && err.name === "AbortError");
}

/** One of the SDKs' error classes (`name`), for an error that SDK threw; an SDK not imported yet threw none. */
function isSdkError<N extends "APIConnectionError" | "APIError">(err: unknown, name: N): err is InstanceType<NonNullable<typeof loadedSdks.openai>[N]> | InstanceType<NonNullable<typeof loadedSdks.anthropic>[N]> {
  const { openai, anthropic } = loadedSdks;
  return (openai !== undefined && err instanceof openai[name]) || (anthropic !== undefined && err instanceof anthropic[name]);
}

/** An SDK (or network) error from `label` as an UpstreamError; `secret` is removed from the message. */
export function toUpstreamError(err: unknown, label: string, secret?: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const scrub = scrubber(secret);
  if (isSdkError(err, "APIConnectionError")) return unreachable(label, err.message, scrub);
  if (isSdkError(err, "APIError")) {
    return statusError(err.status ?? 502, upstreamMessage(err), err.headers?.get("retry-after") ?? undefined, label, scrub);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamError("upstream_error", scrub(`upstream ${label} failed: ${message}`), true);
}

/** An upstream's non-2xx answer (`message`: the vendor's own error text) as an UpstreamError; the same for every transport. */
export function statusError(status: number, message: string, retryAfter: string | undefined, label: string, scrub: (text: string) => string): UpstreamError {
  const text = scrub(`upstream ${label} answered ${status}: ${message}`);
  if (status === 429) return new UpstreamError("queue_full", text, true, { "retry-after": retryAfter ?? "1" }, status);
  if (status >= 500) return new UpstreamError("upstream_error", text, true, undefined, status);
  if (status === 400 || status === 422) return new UpstreamError("bad_request", text, false, undefined, status);
  return new UpstreamError("upstream_error", text, false, undefined, status);
}

/** A connection that failed or timed out before an answer: another backend may well do better. */
export function unreachable(label: string, detail: string, scrub: (text: string) => string): UpstreamError {
  return new UpstreamError("unavailable", scrub(`upstream ${label} is unreachable: ${detail}`), true, { "retry-after": "1" });
}

/** The vendor's own error text (`{error:{message}}` for both), not the SDK's status-prefixed summary. */
function upstreamMessage(err: { error?: unknown; message: string }): string {
  const body = err.error as { message?: unknown; error?: { message?: unknown } } | undefined;
  const text = body?.error?.message ?? body?.message;
  return typeof text === "string" ? text : err.message;
}
