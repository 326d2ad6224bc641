/**
 * A span per SQL query, from Kysely's `log` hook (called in the query's async context, with its duration).
 * Statement text only: bound values never reach a span. `db.system.name=sqlite` per the DB semantic conventions.
 */
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { isTracingSuppressed } from "@opentelemetry/core";
import type { LogEvent } from "kysely";
import { recordError, tracer } from "./spans.js";

export function traceQuery(event: LogEvent): void {
  // Only queries inside an operation (a request, start-up, a pull) are worth a span; background housekeeping
  // queries would each become a one-span trace and bury the real ones.
  if (isTracingSuppressed(context.active()) || !trace.getSpan(context.active())) return;
  const statement = event.query.sql;
  const operation = /^\s*(\w+)/.exec(statement)?.[1]?.toUpperCase() ?? "QUERY";
  const table = /\b(?:from|into|update|table)\s+["`]?(\w+)/i.exec(statement)?.[1];
  const end = Date.now();
  const span = tracer().startSpan(
    table ? `${operation} ${table}` : operation,
    {
      kind: SpanKind.CLIENT,
      startTime: end - event.queryDurationMillis,
      attributes: {
        "db.system.name": "sqlite",
        "db.operation.name": operation,
        ...(table ? { "db.collection.name": table } : {}),
        "db.query.text": statement,
      },
    },
    context.active(),
  );
  if (event.level === "error") recordError(span, event.error);
  else span.setStatus({ code: SpanStatusCode.UNSET });
  span.end(end);
}
