/**
 * Upstream failures as typed errors. Both SDKs throw `APIError` subclasses with a status and headers; they become an
 * `UpstreamError` (an HttpError, so every protocol renders it) that says whether a fallback may take over: only
 * failures before any output, of the kinds another backend could fix (connection, timeout, 429, 5xx).
 * The upstream's message is passed on with the key scrubbed, in case an upstream echoes it.
 */
import { APIConnectionError as AnthropicConnectionError, APIError as AnthropicAPIError, APIUserAbortError as AnthropicAbort } from "@anthropic-ai/sdk";
import { APIConnectionError as OpenAIConnectionError, APIError as OpenAIAPIError, APIUserAbortError as OpenAIAbort } from "openai";
import type { ErrorCode } from "../../protocol/errors.js";
import { HttpError } from "../errors.js";

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

/** Removes `secret` from a text an upstream sent (an error that echoes the key). */
export function scrubber(secret: string | undefined): (text: string) => string {
  if (!secret || secret.length < 4) return (text) => text;
  return (text) => (text.includes(secret) ? text.split(secret).join("[redacted]") : text);
}

/** True for the SDKs' abort errors (the client went away). */
export function isAbortError(err: unknown): boolean {
  return err instanceof OpenAIAbort || err instanceof AnthropicAbort || (err instanceof Error && err.name === "AbortError");
}

/** An SDK (or network) error from `label` as an UpstreamError; `secret` is removed from the message. */
export function toUpstreamError(err: unknown, label: string, secret?: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const scrub = scrubber(secret);
  if (err instanceof OpenAIConnectionError || err instanceof AnthropicConnectionError) {
    return new UpstreamError("unavailable", scrub(`upstream ${label} is unreachable: ${err.message}`), true, { "retry-after": "1" });
  }
  if (err instanceof OpenAIAPIError || err instanceof AnthropicAPIError) {
    const status = err.status ?? 502;
    const message = scrub(`upstream ${label} answered ${status}: ${upstreamMessage(err)}`);
    if (status === 429) {
      const retryAfter = err.headers?.get("retry-after");
      return new UpstreamError("queue_full", message, true, retryAfter ? { "retry-after": retryAfter } : { "retry-after": "1" }, status);
    }
    if (status >= 500) return new UpstreamError("upstream_error", message, true, undefined, status);
    if (status === 400 || status === 422) return new UpstreamError("bad_request", message, false, undefined, status);
    return new UpstreamError("upstream_error", message, false, undefined, status);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamError("upstream_error", scrub(`upstream ${label} failed: ${message}`), true);
}

/** The vendor's own error text (`{error:{message}}` for both), not the SDK's status-prefixed summary. */
function upstreamMessage(err: { error?: unknown; message: string }): string {
  const body = err.error as { message?: unknown; error?: { message?: unknown } } | undefined;
  const text = body?.error?.message ?? body?.message;
  return typeof text === "string" ? text : err.message;
}
