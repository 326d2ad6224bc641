/**
 * The three protocol shapes a refusal is written in, so each caller's SDK parses it: native `{error, code}`,
 * OpenAI `{error:{message,type,param,code}}` and Anthropic `{type:"error", error:{type, message}}`. Pure.
 */
import type { Request } from "express";
import type { ApiErrorBody, ErrorCode } from "../../protocol/errors.js";
import { toOpenAIError } from "../compat/openai-errors.js";
import type { HttpError } from "../errors.js";

export type ProtocolShape = (err: HttpError) => unknown;

export const nativeShape: ProtocolShape = (e): ApiErrorBody => ({ error: e.message, code: e.code, ...(e.details ? { details: e.details } : {}) });

export const openAIShape: ProtocolShape = toOpenAIError;

/** Anthropic's error types by status, as its API documents them. */
const ANTHROPIC_TYPE: Partial<Record<ErrorCode, string>> = {
  unauthorized: "authentication_error",
  forbidden: "permission_error",
  not_found: "not_found_error",
  model_not_found: "not_found_error",
  payload_too_large: "request_too_large",
  queue_full: "rate_limit_error",
  unavailable: "overloaded_error",
  starting: "overloaded_error",
  internal: "api_error",
  upstream_error: "api_error",
  timeout: "api_error",
};

export const anthropicShape: ProtocolShape = (e) => ({
  type: "error",
  error: { type: ANTHROPIC_TYPE[e.code] ?? "invalid_request_error", message: e.message },
});

/** The shape for a request path: `/v1/messages*` Anthropic's, other `/v1/*` OpenAI's, everything else native. */
export function shapeForPath(path: string): ProtocolShape {
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return anthropicShape;
  if (path === "/v1" || path.startsWith("/v1/")) return openAIShape;
  return nativeShape;
}

/** The shape for a request (by its full path, whatever router it is in). */
export function shapeForRequest(req: Request): ProtocolShape {
  return shapeForPath(req.originalUrl.split("?")[0] ?? "/");
}
