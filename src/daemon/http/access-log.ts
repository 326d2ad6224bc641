/**
 * One log line per request, once it ends (finished, or cancelled by its client: 499): method, path, status, duration,
 * request id. Scrapes and the CLI handing over its spans go at debug level, so `mlxm serve` shows what users did, not
 * housekeeping. Inside the request's context, so the pino instrumentation adds trace_id and span_id.
 */
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../../observability/logger.js";
import { inRequestContext } from "./server-span.js";

const QUIET = (req: Request) => req.path === "/metrics" || (req.method === "POST" && req.originalUrl === "/api/traces") || req.originalUrl === "/api/health";

export function accessLog(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    // On "close", not "finish": a response its client walked away from (a cancelled stream) never finishes, and it
    // is logged with 499 as its usage row is, rather than not at all.
    res.once("close", inRequestContext(() => {
      const entry = {
        method: req.method,
        path: req.originalUrl.split("?")[0],
        status: res.writableFinished ? res.statusCode : 499,
        ms: Math.round((performance.now() - start) * 10) / 10,
        requestId: req.requestId,
      };
      if (QUIET(req)) logger.debug(entry, "request");
      else logger.info(entry, "request");
    }));
    next();
  };
}
