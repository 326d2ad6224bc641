/**
 * A daemon error in Anthropic's error shape `{type: "error", error: {type, message}}`, with the status the
 * `@anthropic-ai/sdk` maps to its error classes (400 BadRequestError, 401 AuthenticationError, 403
 * PermissionDeniedError, 404 NotFoundError, 413, 429 RateLimitError, 500 InternalServerError, 529 overloaded). Pure.
 */
import type { ErrorCode } from "../../protocol/errors.js";
import type { HttpError } from "../errors.js";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
}

/** Anthropic's error type for each of our codes, and a status where Anthropic's differs from ours. */
const ANTHROPIC_ERROR: Record<ErrorCode, { type: AnthropicErrorType; status?: number }> = {
  bad_request: { type: "invalid_request_error" },
  invalid_json: { type: "invalid_request_error" },
  context_length_exceeded: { type: "invalid_request_error" },
  not_found: { type: "not_found_error" },
  model_not_found: { type: "not_found_error" },
  conflict: { type: "invalid_request_error" },
  unauthorized: { type: "authentication_error" },
  forbidden: { type: "permission_error" },
  payload_too_large: { type: "request_too_large" },
  unsupported_media_type: { type: "invalid_request_error" },
  // A generation that ran past MLXM_REQUEST_TIMEOUT / MLXM_TOKEN_TIMEOUT: Anthropic's SDK retries 5xx api errors.
  timeout: { type: "api_error", status: 504 },
  queue_full: { type: "rate_limit_error" },
  // Anthropic answers a temporarily overloaded service with 529, which its SDKs retry.
  unavailable: { type: "overloaded_error", status: 529 },
  starting: { type: "overloaded_error", status: 529 },
  cancelled: { type: "invalid_request_error" },
  upstream_error: { type: "api_error" },
  invalid_model: { type: "invalid_request_error" },
  insufficient_storage: { type: "api_error" },
  loop_detected: { type: "api_error" },
  not_implemented: { type: "not_found_error" },
  internal: { type: "api_error" },
};

/**
 * Anthropic's wording for a prompt longer than the context. Clients (Claude Code's compaction among them) recognise an
 * overflow by this text and read the two sizes from it.
 */
function promptTooLong(err: HttpError): string | undefined {
  const d = err.details;
  if (err.code !== "context_length_exceeded" || typeof d?.prompt_tokens !== "number" || typeof d.context_size !== "number") return undefined;
  return `prompt is too long: ${d.prompt_tokens} tokens > ${d.context_size} maximum (the model's context, MLXM_CONTEXT_SIZE)`;
}

/** The body; the parameter at fault, when known, is named in the message (Anthropic's shape has no `param`). */
export function toAnthropicError(err: HttpError): AnthropicErrorBody {
  const message = promptTooLong(err) ?? (err.param && !err.message.includes(err.param) ? `${err.param}: ${err.message}` : err.message);
  return { type: "error", error: { type: ANTHROPIC_ERROR[err.code].type, message } };
}

/** The status Anthropic sends for this error. */
export function toAnthropicStatus(err: HttpError): number {
  return ANTHROPIC_ERROR[err.code].status ?? err.status;
}
