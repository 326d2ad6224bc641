/** The native API's error handler: every failure becomes `{ error, code }` JSON with the code's status. */
import type { ErrorRequestHandler } from "express";
import type { ApiErrorBody } from "../../protocol/errors.js";
import type { Logger } from "../../observability/logger.js";
import { HttpError } from "../errors.js";

/** Turn anything thrown into an HttpError: typed errors keep their code; body-parser failures are bad JSON. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; code?: string; message?: string; details?: Record<string, unknown> };
  if (e?.type === "entity.parse.failed") return new HttpError("invalid_json", `request body is not valid JSON: ${e.message}`);
  if (e?.type === "entity.too.large") return new HttpError("payload_too_large", "request body is too large");
  if (typeof e?.code === "string" && e.code in CODE_PASSTHROUGH) {
    return new HttpError(CODE_PASSTHROUGH[e.code]!, e.message ?? "error", e.details);
  }
  return new HttpError("internal", "internal error");
}

/** Typed errors from lower layers (engine, hub) that carry one of our stable codes. */
const CODE_PASSTHROUGH: Record<string, HttpError["code"]> = {
  bad_request: "bad_request",
  not_found: "not_found",
  model_not_found: "model_not_found",
  invalid_model: "invalid_model",
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  conflict: "conflict",
  queue_full: "queue_full",
  unavailable: "unavailable",
  cancelled: "cancelled",
  upstream_error: "upstream_error",
  insufficient_storage: "insufficient_storage",
};

export function nativeErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500 && httpError.code !== "starting") {
      logger.error({ err, requestId: req.requestId, path: req.path }, "request failed");
    }
    if (res.headersSent) {
      // A stream already started: the error goes in-band by the router; here we can only end it.
      res.end();
      return;
    }
    const body: ApiErrorBody = { error: httpError.message, code: httpError.code };
    if (httpError.details) body.details = httpError.details;
    res.status(httpError.status).set(httpError.headers ?? {}).json(body);
  };
}
