/**
 * The `/v1` error handler: every failure, body-parser errors and unknown `/v1` routes included, in OpenAI's shape
 * with the status the openai SDK maps to its error classes (404 NotFoundError, 429 RateLimitError with Retry-After).
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../../observability/logger.js";
import { toOpenAIError } from "../compat/openai-errors.js";
import { HttpError } from "../errors.js";
import { errorHandler } from "./native-errors.js";

export function openAIErrorHandler(logger: Logger): ErrorRequestHandler {
  return errorHandler(logger, toOpenAIError);
}

/** Unknown `/v1` routes, answered as OpenAI does (404, code "unknown_url"). */
export const openAINotFound: RequestHandler = (req, _res, next) =>
  next(new HttpError("not_found", `Unknown request URL: ${req.method} ${req.originalUrl}`));
