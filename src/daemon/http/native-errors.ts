/** The native API's error handler: every failure becomes `{ error, code }` JSON with the code's status. */
import type { ErrorRequestHandler } from "express";
import type { ApiErrorBody } from "../../protocol/errors.js";
import type { Logger } from "../../observability/logger.js";
import { HttpError } from "../errors.js";

/** Turn anything thrown into an HttpError: typed errors keep their code; body-parser failures are bad JSON. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; code?: string; message?: string; details?: Record<string, unknown> };
  if (e?.type === "entity.parse.failed") {
    // body-parser refuses valid JSON that is not an object or array (`null`, `3`) with JSON.parse's own message,
    // which would call it invalid JSON.
    const body = (err as { body?: unknown }).body;
    if (typeof body === "string" && isJsonScalar(body)) return new HttpError("invalid_json", "the request body must be a JSON object");
    return new HttpError("invalid_json", `request body is not valid JSON: ${e.message}`);
  }
  if (e?.type === "entity.too.large") return new HttpError("payload_too_large", "request body is too large");
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") {
    return new HttpError("unsupported_media_type", e.message ?? "unsupported content encoding");
  }
  // The HTTP framework's own client errors (bad URI encoding, aborted or truncated upload, invalid size) keep
  // their 4xx instead of becoming 500s: http-errors marks them `expose: true`; the router's URIError only has a status.
  const status = typeof e?.status === "number" ? e.status : (e as { statusCode?: number })?.statusCode;
  if (status !== undefined && status >= 400 && status < 500 && ((e as { expose?: boolean }).expose === true || err instanceof URIError)) {
    return new HttpError(CLIENT_STATUS_CODE[status] ?? "bad_request", e.message || "bad request");
  }
  if (typeof e?.code === "string" && e.code in CODE_PASSTHROUGH) {
    return new HttpError(CODE_PASSTHROUGH[e.code]!, e.message ?? "error", e.details);
  }
  return new HttpError("internal", "internal error");
}

function isJsonScalar(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}

/** Our code for a framework client error's status; anything unlisted is a plain 400. */
const CLIENT_STATUS_CODE: Record<number, HttpError["code"]> = {
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

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
  timeout: "timeout",
  insufficient_storage: "insufficient_storage",
};

/**
 * An error handler that serialises every failure with `toBody`, the caller's protocol (native, OpenAI, …).
 * Server errors are logged; a stream that already started can only be ended (its route sent the error in-band).
 */
export function errorHandler(
  logger: Logger,
  toBody: (e: HttpError) => unknown,
  /** The status to send, where a protocol's differs from the code's own (Anthropic's 529). */
  toStatus: (e: HttpError) => number = (e) => e.status,
): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500 && httpError.code !== "starting") {
      // Never the query string: it can carry credentials.
      logger.error({ err, requestId: req.requestId, path: req.originalUrl.split("?")[0] }, "request failed");
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(toStatus(httpError)).set(httpError.headers ?? {}).json(toBody(httpError));
  };
}

/** The native API's `{ error, code, details? }`. */
export function nativeErrorHandler(logger: Logger): ErrorRequestHandler {
  return errorHandler(logger, (e): ApiErrorBody => ({ error: e.message, code: e.code, ...(e.details ? { details: e.details } : {}) }));
}
