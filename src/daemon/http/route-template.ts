/**
 * The matched route template of a request (`/api/traces/:id`), the one label for metrics and the `http.route` of
 * its server span. Express resets `req.baseUrl` when an error leaves a router, so each router is mounted behind
 * `recordMountPath`, which remembers where it sits.
 *
 * Why not the express instrumentation's own `http.route`: with router layers ignored (they are pure noise spans)
 * it loses the route whenever a request falls through one router into the next, as `/api/*` requests do.
 */
import { context } from "@opentelemetry/api";
import { RPCType, getRPCMetadata } from "@opentelemetry/core";
import type { NextFunction, Request, Response } from "express";

export function recordMountPath(req: Request, res: Response, next: NextFunction): void {
  res.locals.mountPath = req.baseUrl;
  next();
}

/**
 * The full template (`/v1/chat/completions`, not the router's own `/chat/completions`), or undefined when no route
 * matched (404s). A router's root route is its mount path (`/v1/messages`, not `/v1/messages/`).
 */
export function routeTemplate(req: Request, res: Response): string | undefined {
  const path = req.route?.path as unknown;
  if (path === undefined) return undefined;
  const mount = (res.locals.mountPath as string | undefined) ?? "";
  return mount && path === "/" ? mount : `${mount}${String(path)}`;
}

/**
 * Give the server span its route when the response starts: the HTTP instrumentation reads the RPC metadata's
 * route when it ends the span, for both `http.route` and the span name (`GET /api/tags`).
 */
export function attributeRoute(req: Request, res: Response, next: NextFunction): void {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type === RPCType.HTTP) {
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, ...args: Parameters<Response["writeHead"]>) {
      const route = routeTemplate(req, res);
      if (route) metadata.route = route;
      return writeHead.apply(this, args);
    } as Response["writeHead"];
  }
  next();
}
