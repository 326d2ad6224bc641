/**
 * Prometheus metrics (prom-client), one registry per daemon. Every metric is declared here, with bounded labels:
 * matched route templates (never raw paths), model names the store knows, token types. Capabilities update
 * them through this object.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mlxm_" });
  const m = {
    registry,
    httpRequests: new Counter({
      name: "mlxm_http_requests_total",
      help: "HTTP requests by method, matched route and status.",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "mlxm_http_request_duration_seconds",
      help: "HTTP request duration by method, matched route and status.",
      labelNames: ["method", "route", "status"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: "gen_ai_server_time_to_first_token_seconds",
      help: "Time from request to the first generated token.",
      labelNames: ["model"] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    timePerOutputToken: new Histogram({
      name: "gen_ai_server_time_per_output_token_seconds",
      help: "Time per output token after the first.",
      labelNames: ["model"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    tokens: new Counter({
      name: "gen_ai_tokens_total",
      help: "Tokens processed, by model and type (input, output).",
      labelNames: ["model", "type"] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "mlxm_queue_depth",
      help: "Requests waiting for a sequence, by model.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    loadedModels: new Gauge({ name: "mlxm_loaded_models", help: "Models currently loaded.", registers: [registry] }),
    schemaViolations: new Counter({
      name: "mlxm_schema_violations_total",
      help: "Grammar-constrained outputs that failed validation against their schema (a server bug), by model.",
      labelNames: ["model"] as const,
      registers: [registry],
    }),
    pullBytes: new Counter({ name: "mlxm_pull_bytes_total", help: "Bytes downloaded by pulls.", registers: [registry] }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
