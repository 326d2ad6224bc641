/**
 * The `/v1` error handler: every failure, body-parser errors and unknown `/v1` routes included, in OpenAI's shape
 * with the status the openai SDK maps to its error classes (404 NotFoundError, 429 RateLimitError with Retry-After).
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../../observability/logger.js";
import { toOpenAIError } from "../compat/openai-errors.js";
import { HttpError } from "../errors.js";
import { toHttpError } from "./native-errors.js";

export function openAIErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500 && httpError.code !== "starting") {
      logger.error({ err, requestId: req.requestId, path: req.originalUrl }, "request failed");
    }
    if (res.headersSent) {
      // A stream already started: its route sends the error in-band; here we can only end it.
      res.end();
      return;
    }
    res.status(httpError.status).set(httpError.headers ?? {}).json(toOpenAIError(httpError));
  };
}

/** Unknown `/v1` routes, answered as OpenAI does (404, code "unknown_url"). */
export const openAINotFound: RequestHandler = (req, _res, next) =>
  next(new HttpError("not_found", `Unknown request URL: ${req.method} ${req.originalUrl}`));
