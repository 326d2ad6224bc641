/**
 * Prometheus metrics (prom-client), one registry per daemon. Every metric is declared here, with bounded labels:
 * matched route templates (never raw paths), model names the store knows, token types. Capabilities update
 * them through this object.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** How often the event-loop delay histogram samples (see createMetrics). */
const EVENT_LOOP_SAMPLE_MS = 100;

/** What the metrics read from outside at each scrape. */
export interface MetricsSources {
  /** Spans each remote exporter dropped so far (backend down, queue full, shutdown). */
  exportDropped?: () => { exporter: string; dropped: number }[];
  /** Times libuv's pool was parked for a request generating alone (engine/pool-parking.ts). */
  poolParks?: () => number;
}

/**
 * The daemon's metrics. The GenAI histograms are also what the OTLP collector and Logfire receive, under their
 * semantic-convention names (see otel-metrics.ts): record once, here.
 */
export function createMetrics(sources: MetricsSources = {}) {
  const registry = new Registry();
  // The event-loop delay histogram samples with a repeating timer. prom-client's default of 10 ms woke an idle daemon
  // 100 times a second (about 1 % of a core, for a background service on a laptop); a block longer than the
  // interval is still caught whole, so a coarser one loses only the shortest stalls.
  collectDefaultMetrics({ register: registry, prefix: "mlxm_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
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
    tokenUsage: new Histogram({
      name: "gen_ai_client_token_usage",
      help: "Tokens per request, by model and type (input, output).",
      labelNames: ["model", "type"] as const,
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: "gen_ai_server_request_duration_seconds",
      help: "Generation duration, from request to the last token, by model.",
      labelNames: ["model"] as const,
      buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers: [registry],
    }),
    traceExportDropped: new Counter({
      name: "mlxm_trace_export_dropped_total",
      help: "Spans a remote trace exporter (logfire, otlp) dropped: backend down or slow, queue full, or shutdown.",
      labelNames: ["exporter"] as const,
      registers: [registry],
      collect() {
        // The exporters keep the count; a scrape reads it (they start before the metrics exist).
        const counts = sources.exportDropped?.() ?? [];
        if (counts.length) this.reset();
        for (const { exporter, dropped } of counts) this.inc({ exporter }, dropped);
      },
    }),
    tokens: new Counter({
      name: "gen_ai_tokens_total",
      help: "Tokens processed, by model and type (input, output).",
      labelNames: ["model", "type"] as const,
      registers: [registry],
    }),
    cachedInputTokens: new Counter({
      name: "mlxm_cached_input_tokens_total",
      help: "Input tokens read from the prompt-prefix cache instead of evaluated, by model (also counted as input in gen_ai_tokens_total).",
      labelNames: ["model"] as const,
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
    poolParks: new Counter({
      name: "mlxm_pool_parks_total",
      help: "Times libuv's pool was parked down to one thread for a request generating alone (MLXM_POOL_PARKING).",
      registers: [registry],
      collect() {
        // The pool is the process's and keeps its own count; a scrape reads it.
        const parks = sources.poolParks?.();
        if (parks === undefined) return;
        this.reset();
        this.inc(parks);
      },
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
