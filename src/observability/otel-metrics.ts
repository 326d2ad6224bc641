/**
 * The GenAI metrics `/metrics` serves, as OpenTelemetry metrics under their semantic-convention names, for the
 * OTLP collector and Logfire. One source of truth: this reads the same prom-client histograms at each export,
 * so the two views can never disagree, and nothing is recorded twice.
 */
import type { Attributes } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type MetricData,
  type MetricProducer,
} from "@opentelemetry/sdk-metrics";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { Histogram as PromHistogram } from "prom-client";
import type { Metrics } from "./metrics.js";

/** Which prom-client histogram becomes which semconv metric, and how its labels become attributes. */
interface Mapping {
  source: (m: Metrics) => PromHistogram<string>;
  name: string;
  description: string;
  unit: string;
  /** prom label → OTel attribute. */
  labels: Record<string, string>;
}

export const OTEL_GENAI_METRICS: readonly Mapping[] = [
  {
    source: (m) => m.tokenUsage,
    name: "gen_ai.client.token.usage",
    description: "Number of input and output tokens used per request.",
    unit: "{token}",
    labels: { model: "gen_ai.response.model", type: "gen_ai.token.type" },
  },
  {
    source: (m) => m.timeToFirstToken,
    name: "gen_ai.server.time_to_first_token",
    description: "Time to generate the first token for successful responses.",
    unit: "s",
    labels: { model: "gen_ai.response.model" },
  },
  {
    source: (m) => m.timePerOutputToken,
    name: "gen_ai.server.time_per_output_token",
    description: "Time per output token generated after the first token for successful responses.",
    unit: "s",
    labels: { model: "gen_ai.response.model" },
  },
  {
    source: (m) => m.requestDuration,
    name: "gen_ai.server.request.duration",
    description: "Generative AI server request duration such as time-to-last byte or last output token.",
    unit: "s",
    labels: { model: "gen_ai.response.model" },
  },
];

/** One value of a prom-client histogram, as `get()` returns it. */
export interface PromValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** Convert one prom-client histogram's values (cumulative `le` buckets, `_sum`, `_count`) to OTel data points. */
export function toHistogramData(mapping: Mapping, values: PromValue[], startMs: number, endMs: number): MetricData {
  const series = new Map<string, { attributes: Attributes; buckets: [number, number][]; sum: number; count: number }>();
  for (const v of values) {
    const { le, ...rest } = v.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let s = series.get(key);
    if (!s) {
      const attributes: Attributes = { "gen_ai.provider.name": "mlxm" };
      for (const [label, value] of Object.entries(rest)) attributes[mapping.labels[label] ?? label] = value;
      s = { attributes, buckets: [], sum: 0, count: 0 };
      series.set(key, s);
    }
    if (v.metricName?.endsWith("_bucket") && le !== undefined) s.buckets.push([le === "+Inf" ? Infinity : Number(le), v.value]);
    else if (v.metricName?.endsWith("_sum")) s.sum = v.value;
    else if (v.metricName?.endsWith("_count")) s.count = v.value;
  }
  const dataPoints = [...series.values()].map((s) => {
    s.buckets.sort((a, b) => a[0] - b[0]);
    // prom buckets are cumulative and end with +Inf; OTel's are per bucket, with one more count than boundaries.
    const boundaries = s.buckets.filter(([le]) => Number.isFinite(le)).map(([le]) => le);
    const counts = s.buckets.map(([, c], i) => c - (i > 0 ? s.buckets[i - 1]![1] : 0));
    return {
      startTime: millisToHrTime(startMs),
      endTime: millisToHrTime(endMs),
      attributes: s.attributes,
      value: { buckets: { boundaries, counts }, sum: s.sum, count: s.count },
    };
  });
  return {
    descriptor: { name: mapping.name, description: mapping.description, unit: mapping.unit, valueType: 1 /* DOUBLE */ },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}

/**
 * A MetricProducer for the SDK's metric readers. The prom-client metrics are created with the daemon's context,
 * after observability is set up, so the source is attached later; until then it produces nothing.
 */
export class PromGenAiProducer implements MetricProducer {
  private source: Metrics | undefined;
  private readonly startMs = Date.now();

  attach(metrics: Metrics): void {
    this.source = metrics;
  }

  async collect(): Promise<CollectionResult> {
    const metrics: MetricData[] = [];
    if (this.source) {
      const now = Date.now();
      for (const mapping of OTEL_GENAI_METRICS) {
        const { values } = await mapping.source(this.source).get();
        const data = toHistogramData(mapping, values as PromValue[], this.startMs, now);
        if (data.dataPoints.length) metrics.push(data);
      }
    }
    return {
      resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: metrics.length ? [{ scope: { name: "mlxm" }, metrics }] : [] },
      errors: [],
    };
  }
}
