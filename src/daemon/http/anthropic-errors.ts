/**
 * The Anthropic routes' error handler: every failure, body-parser errors and the draining 503 included, in
 * Anthropic's shape and with the status its SDK maps to its error classes (429 with Retry-After when the queue is full).
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../../observability/logger.js";
import { toAnthropicError, toAnthropicStatus } from "../compat/anthropic-errors.js";
import { HttpError } from "../errors.js";
import { errorHandler } from "./native-errors.js";

export function anthropicErrorHandler(logger: Logger): ErrorRequestHandler {
  return errorHandler(logger, toAnthropicError, toAnthropicStatus);
}

/** Unknown routes under `/v1/messages`, answered as Anthropic does (404 not_found_error). */
export const anthropicNotFound: RequestHandler = (req, _res, next) =>
  next(new HttpError("not_found", `Not found: ${req.method} ${req.originalUrl.split("?")[0]}`));
