/** Conversion of an SDK span into the local store's record. */
import { hrTimeToMilliseconds } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { SpanRecord } from "../protocol/traces.js";

export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const ctx = span.spanContext();
  const attributes: SpanRecord["attributes"] = {};
  for (const [k, v] of Object.entries(span.attributes)) {
    if (v !== undefined) attributes[k] = v as SpanRecord["attributes"][string];
  }
  return {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    parent_span_id: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    service: String(span.resource.attributes["service.name"] ?? "unknown"),
    kind: span.kind,
    start_ms: hrTimeToMilliseconds(span.startTime),
    duration_ms: hrTimeToMilliseconds(span.duration),
    status_code: span.status.code,
    status_message: span.status.message ?? null,
    attributes,
    events: span.events.map((e) => ({
      name: e.name,
      time_ms: hrTimeToMilliseconds(e.time),
      attributes: (e.attributes ?? {}) as SpanRecord["attributes"],
    })),
  };
}
