/**
 * Middleware run in order as one Express layer. Express 5's router pays per layer (path matching, parameter
 * processing, a promise check per call) for every request that passes it; the daemon's prologue (span, request id,
 * metrics, access log, security headers) runs for every request and matches every path, so it needs none of that.
 * An error, or a middleware that answers without calling `next`, stops the chain as it would in Express.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";

export function chain(...handlers: RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      try {
        const ret = handler(req, res, step) as unknown;
        if (ret instanceof Promise) ret.catch(step);
      } catch (e) {
        step(e);
      }
    };
    step();
  };
}
