/**
 * The backends spans and metrics leave the machine for: Logfire (when LOGFIRE_TOKEN is set) and an OTLP/HTTP
 * collector (when OTEL_EXPORTER_OTLP_ENDPOINT is set); with neither, none is created and nothing is sent.
 * mlxm builds Logfire's exporters itself (OTLP/protobuf with the token, as logfire-node does) instead of letting
 * logfire-node do it, because logfire-node's own are unbounded at shutdown: a Logfire that cannot be reached then
 * held `daemon stop` for 20 s. Every trace exporter sits behind a BoundedExportProcessor.
 */
import { displayUrl } from "./redact.js";
import { OTLPMetricExporter as OtlpJsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OtlpProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as OtlpJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OtlpProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { PeriodicExportingMetricReader, type MetricProducer, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { MlxmConfig } from "../config/config.js";
import { BoundedExportProcessor } from "./bounded-export-processor.js";

/** How often metrics are pushed to the backends (the OpenTelemetry default). */
const METRIC_INTERVAL_MS = 60_000;

export interface RemoteExporters {
  processors: BoundedExportProcessor[];
  metricReaders: PeriodicExportingMetricReader[];
}

/**
 * The exporters for what is configured. `resolveBaseUrl` is logfire-node's (region from the token, or
 * LOGFIRE_BASE_URL); it is passed in because this module is loaded with the SDK, after the instrumentation hook.
 */
export function createRemoteExporters(
  settings: MlxmConfig["trace"],
  producer: MetricProducer,
  resolveBaseUrl: (env: Record<string, string | undefined>, baseUrl: string | undefined, token: string) => string,
): RemoteExporters {
  const timeoutMillis = settings.exportTimeoutMs;
  const targets: { name: string; endpoint: string; traces: SpanExporter; metrics: PushMetricExporter }[] = [];
  if (settings.logfireToken) {
    const base = resolveBaseUrl({}, settings.logfireBaseUrl, settings.logfireToken).replace(/\/$/, "");
    const headers = { Authorization: settings.logfireToken };
    targets.push({
      name: "logfire",
      endpoint: displayUrl(base),
      traces: new OtlpProtoTraceExporter({ url: `${base}/v1/traces`, headers, timeoutMillis }),
      metrics: new OtlpProtoMetricExporter({ url: `${base}/v1/metrics`, headers, timeoutMillis }),
    });
  }
  if (settings.otlpEndpoint) {
    const base = settings.otlpEndpoint.replace(/\/$/, "");
    targets.push({
      name: "otlp",
      endpoint: displayUrl(base),
      traces: new OtlpJsonTraceExporter({ url: `${base}/v1/traces`, timeoutMillis }),
      metrics: new OtlpJsonMetricExporter({ url: `${base}/v1/metrics`, timeoutMillis }),
    });
  }
  return {
    processors: targets.map(
      (t) => new BoundedExportProcessor(t.traces, { name: t.name, endpoint: t.endpoint, exportTimeoutMs: timeoutMillis }),
    ),
    metricReaders: targets.map(
      (t) =>
        new PeriodicExportingMetricReader({
          exporter: t.metrics,
          exportIntervalMillis: METRIC_INTERVAL_MS,
          // The SDK refuses a timeout longer than the interval.
          exportTimeoutMillis: Math.min(timeoutMillis, METRIC_INTERVAL_MS),
          metricProducers: [producer],
        }),
    ),
  };
}
