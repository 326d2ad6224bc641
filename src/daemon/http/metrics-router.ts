/** `/metrics` in Prometheus text format, and the middleware that counts every request by its matched route. */
import { Router, type NextFunction, type Request, type Response } from "express";
import type { Metrics } from "../../observability/metrics.js";

export function createMetricsRouter(metrics: Metrics): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}

/**
 * Remember where a router is mounted: Express resets `req.baseUrl` when an error leaves the router, so by the
 * time the response finishes only this still knows that `/traces/:id` was `/api/traces/:id`.
 * Mount every router as `app.use(path, recordMountPath, router)`.
 */
export function recordMountPath(req: Request, res: Response, next: NextFunction): void {
  res.locals.mountPath = req.baseUrl;
  next();
}

/**
 * Count and time each request. The label is the matched route template (`/api/traces/:id`), never the raw path,
 * so label cardinality stays bounded; unmatched requests share one label.
 */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    res.on("finish", () => {
      const route = req.route?.path ? `${(res.locals.mountPath as string | undefined) ?? ""}${String(req.route.path)}` : "unmatched";
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      end(labels);
    });
    next();
  };
}
