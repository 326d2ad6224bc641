/** `/metrics` in Prometheus text format, and the middleware that counts every request by its matched route. */
import { Router, type NextFunction, type Request, type Response } from "express";
import type { Metrics } from "../../observability/metrics.js";
import { routeTemplate } from "./route-template.js";

export function createMetricsRouter(metrics: Metrics): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}

/**
 * Count and time each request. The label is the matched route template (`/api/traces/:id`), never the raw path,
 * so label cardinality stays bounded; unmatched requests share one label.
 */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    res.on("finish", () => {
      const route = routeTemplate(req, res) ?? "unmatched";
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      end(labels);
    });
    next();
  };
}
