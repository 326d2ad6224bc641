/** Trace types shared by the daemon's `/api/traces` endpoints, MlxmClient and `mlxm trace`. */
import { z } from "zod";

const AttributeValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean(), z.null()]))]);

/**
 * Epoch milliseconds a span may carry: from 2000 to 2200. Wider values pass JSON but not `Date`, and one stored
 * span would make every later trace listing fail.
 */
const EpochMs = z.number().min(946_684_800_000).max(7_258_118_400_000);
/** A span lasts at most a year. */
const DurationMs = z.number().min(0).max(365 * 86_400_000);

export const SpanEvent = z.object({
  name: z.string().max(512),
  time_ms: EpochMs,
  attributes: z.record(z.string(), AttributeValue).default({}),
});

export const SpanRecord = z.object({
  trace_id: z.string().regex(/^[0-9a-f]{32}$/),
  span_id: z.string().regex(/^[0-9a-f]{16}$/),
  parent_span_id: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
  name: z.string().min(1).max(512),
  service: z.string().max(128),
  /** OpenTelemetry SpanKind: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  kind: z.number().int().min(0).max(4),
  start_ms: EpochMs,
  duration_ms: DurationMs,
  /** OpenTelemetry SpanStatusCode: 0 unset, 1 ok, 2 error. */
  status_code: z.number().int().min(0).max(2),
  status_message: z.string().nullable(),
  attributes: z.record(z.string(), AttributeValue),
  events: z.array(SpanEvent).default([]),
});
export type SpanRecord = z.infer<typeof SpanRecord>;

export const IngestSpansRequest = z.object({ spans: z.array(SpanRecord).max(10_000) });
export type IngestSpansRequest = z.infer<typeof IngestSpansRequest>;

/** The answer to `POST /api/traces`. */
export const IngestSpansResponse = z.object({ accepted: z.number() });
export type IngestSpansResponse = z.infer<typeof IngestSpansResponse>;

export const TraceSummary = z.object({
  trace_id: z.string(),
  start_time: z.string(),
  duration_ms: z.number(),
  /** The root span's name: a CLI command (`mlxm ls`) or an HTTP route (`GET /api/tags`). */
  name: z.string(),
  service: z.string(),
  model: z.string().nullable(),
  status: z.enum(["ok", "error"]),
  span_count: z.number(),
  error_count: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
});
export type TraceSummary = z.infer<typeof TraceSummary>;

export const TraceListResponse = z.object({ traces: z.array(TraceSummary) });
export type TraceListResponse = z.infer<typeof TraceListResponse>;

export const TraceResponse = z.object({ trace_id: z.string(), summary: TraceSummary, spans: z.array(SpanRecord) });
export type TraceResponse = z.infer<typeof TraceResponse>;

export interface TraceListQuery {
  limit?: number;
  /** Only traces that started at or after this time (ISO-8601 or epoch ms). */
  since?: string;
  errors?: boolean;
}
