/**
 * One log line per request, after it finishes: method, path, status, duration, request id. Scrapes and the CLI
 * handing over its spans go at debug level, so `mlxm serve` shows what users did, not housekeeping. Inside the
 * request's context, so the pino instrumentation adds trace_id and span_id.
 */
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../../observability/logger.js";
import { inRequestContext } from "./server-span.js";

const QUIET = (req: Request) => req.path === "/metrics" || (req.method === "POST" && req.originalUrl === "/api/traces") || req.originalUrl === "/api/health";

export function accessLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    res.on("finish", inRequestContext(() => {
      const entry = {
        method: req.method,
        path: req.originalUrl.split("?")[0],
        status: res.statusCode,
        ms: Math.round((performance.now() - start) * 10) / 10,
        requestId: req.requestId,
      };
      if (QUIET(req)) logger.debug(entry, "request");
      else logger.info(entry, "request");
    }));
    next();
  };
}
