/** Conversion between SDK spans and the local store's records. */
import { TraceFlags, type Attributes, type SpanKind, type SpanStatusCode } from "@opentelemetry/api";
import { hrTimeToMilliseconds, millisToHrTime } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { SpanRecord } from "../protocol/traces.js";

/** An SDK span as the local store keeps it. */
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

/**
 * A stored record as an SDK span, so a span that ended in another process (a CLI command) can go to the same
 * exporters as the daemon's own, with its own ids, times, status and resource.
 */
export function fromSpanRecord(record: SpanRecord, resourceAttributes: Record<string, string | number>): ReadableSpan {
  const startTime = millisToHrTime(record.start_ms);
  const endTime = millisToHrTime(record.start_ms + record.duration_ms);
  const context = { traceId: record.trace_id, spanId: record.span_id, traceFlags: TraceFlags.SAMPLED };
  return {
    name: record.name,
    kind: record.kind as SpanKind,
    spanContext: () => context,
    parentSpanContext: record.parent_span_id
      ? { traceId: record.trace_id, spanId: record.parent_span_id, traceFlags: TraceFlags.SAMPLED, isRemote: true }
      : undefined,
    startTime,
    endTime,
    duration: millisToHrTime(record.duration_ms),
    status: { code: record.status_code as SpanStatusCode, ...(record.status_message ? { message: record.status_message } : {}) },
    attributes: record.attributes as Attributes,
    links: [],
    events: record.events.map((e) => ({ name: e.name, time: millisToHrTime(e.time_ms), attributes: e.attributes as Attributes })),
    ended: true,
    resource: resourceFromAttributes({ "service.name": record.service, ...resourceAttributes }),
    instrumentationScope: { name: record.service },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
