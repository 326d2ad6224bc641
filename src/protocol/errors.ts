/**
 * Stable error codes of the native API. The daemon sends `{ error, code }` (Ollama's `{ error }` plus a code),
 * the client turns the code back into a typed error, and the CLI maps that to an exit code. Nothing matches
 * on message text.
 */
export const ERROR_CODES = [
  "bad_request",
  "invalid_json",
  /** A prompt or input longer than the model's context: a bad request, with OpenAI's own code for it. */
  "context_length_exceeded",
  "not_found",
  "model_not_found",
  "conflict",
  "unauthorized",
  "forbidden",
  "payload_too_large",
  "unsupported_media_type",
  "queue_full",
  "unavailable",
  "starting",
  "cancelled",
  "upstream_error",
  "timeout",
  "invalid_model",
  "insufficient_storage",
  /** A request that came back to a daemon it passed (a route leading to itself). */
  "loop_detected",
  /** An Ollama endpoint mlxm knowingly does not offer (`/api/push`, `/api/blobs`): 501, not a 404 that reads as a typo. */
  "not_implemented",
  "internal",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ApiErrorBody {
  error: string;
  code: ErrorCode;
  /** Extra machine-readable detail, e.g. the available quantisations when a choice is ambiguous. */
  details?: Record<string, unknown>;
}

/** The HTTP status each code is sent with. */
export const STATUS_OF: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  context_length_exceeded: 400,
  not_found: 404,
  model_not_found: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  unavailable: 503,
  starting: 503,
  cancelled: 499,
  upstream_error: 502,
  timeout: 504,
  invalid_model: 422,
  insufficient_storage: 507,
  loop_detected: 508,
  not_implemented: 501,
  internal: 500,
};

/** The codes of a request that is the caller's mistake: a 400 wherever it is sent (no fallback; CLI exit code 2). */
export function isBadRequestCode(code: string): boolean {
  return code === "bad_request" || code === "invalid_json" || code === "context_length_exceeded";
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}
