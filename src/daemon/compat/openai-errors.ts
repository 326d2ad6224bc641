/**
 * A daemon error in OpenAI's error shape `{error: {message, type, param, code}}`, which the openai SDK parses
 * (its class comes from the status: 404 NotFoundError, 429 RateLimitError, ...). Pure.
 */
import type { ErrorCode } from "../../protocol/errors.js";
import type { HttpError } from "../errors.js";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** OpenAI's `type` and `code` for each of our codes. */
const OPENAI_ERROR: Record<ErrorCode, { type: string; code: string | null }> = {
  bad_request: { type: "invalid_request_error", code: null },
  invalid_json: { type: "invalid_request_error", code: null },
  // What LangChain, LiteLLM and the like look for to trim a conversation or move to a larger model.
  context_length_exceeded: { type: "invalid_request_error", code: "context_length_exceeded" },
  not_found: { type: "invalid_request_error", code: "unknown_url" },
  model_not_found: { type: "invalid_request_error", code: "model_not_found" },
  conflict: { type: "invalid_request_error", code: "conflict" },
  unauthorized: { type: "invalid_request_error", code: "invalid_api_key" },
  forbidden: { type: "invalid_request_error", code: "forbidden" },
  payload_too_large: { type: "invalid_request_error", code: "request_too_large" },
  unsupported_media_type: { type: "invalid_request_error", code: "unsupported_media_type" },
  // OpenAI's rate limits: type "requests" (or "tokens"), code "rate_limit_exceeded".
  queue_full: { type: "requests", code: "rate_limit_exceeded" },
  unavailable: { type: "server_error", code: "service_unavailable" },
  starting: { type: "server_error", code: "service_unavailable" },
  cancelled: { type: "invalid_request_error", code: "cancelled" },
  upstream_error: { type: "server_error", code: "upstream_error" },
  timeout: { type: "server_error", code: "timeout" },
  invalid_model: { type: "invalid_request_error", code: "invalid_model" },
  insufficient_storage: { type: "server_error", code: "insufficient_storage" },
  loop_detected: { type: "server_error", code: "loop_detected" },
  not_implemented: { type: "invalid_request_error", code: "not_implemented" },
  internal: { type: "server_error", code: null },
};

export function toOpenAIError(err: HttpError): OpenAIErrorBody {
  const { type, code } = OPENAI_ERROR[err.code];
  return { error: { message: err.message, type, param: err.param ?? null, code } };
}
