/**
 * The `spans` table: the local span store. Summaries are computed in SQL (JSON functions over attributes) so
 * listing recent traces stays one query however many spans each has.
 */
import { sql } from "../kysely-runtime.js";
import type { Db } from "../database.js";
import type { SpanRecord, TraceSummary } from "../../../protocol/traces.js";

interface SummaryRow {
  trace_id: string;
  start_ms: number;
  end_ms: number;
  span_count: number;
  error_count: number;
  input_tokens: number | null;
  output_tokens: number | null;
  model: string | null;
  root_name: string | null;
  root_service: string | null;
}

export class SpansRepo {
  constructor(private readonly db: Db) {}

  async insert(spans: SpanRecord[]): Promise<void> {
    if (spans.length === 0) return;
    // One transaction per batch; chunks keep each statement under SQLite's bound-parameter limit.
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < spans.length; i += 50) {
        await trx
          .insertInto("spans")
          .values(
            spans.slice(i, i + 50).map((s) => ({
              trace_id: s.trace_id,
              span_id: s.span_id,
              parent_span_id: s.parent_span_id,
              name: s.name,
              service: s.service,
              kind: s.kind,
              start_ms: s.start_ms,
              duration_ms: s.duration_ms,
              status_code: s.status_code,
              status_message: s.status_message,
              attributes_json: JSON.stringify(s.attributes),
              events_json: JSON.stringify(s.events),
            })),
          )
          .onConflict((oc) => oc.columns(["trace_id", "span_id"]).doNothing())
          .execute();
      }
    });
  }

  async trace(traceId: string): Promise<SpanRecord[]> {
    const rows = await this.db.selectFrom("spans").selectAll().where("trace_id", "=", traceId).orderBy("start_ms").execute();
    return rows.map((r) => ({
      trace_id: r.trace_id,
      span_id: r.span_id,
      parent_span_id: r.parent_span_id,
      name: r.name,
      service: r.service,
      kind: r.kind,
      start_ms: r.start_ms,
      duration_ms: r.duration_ms,
      status_code: r.status_code,
      status_message: r.status_message,
      attributes: JSON.parse(r.attributes_json) as SpanRecord["attributes"],
      events: JSON.parse(r.events_json) as SpanRecord["events"],
    }));
  }

  /** Up to `limit` distinct trace ids starting with `prefix` (hex only: `%` and `_` would be LIKE wildcards). */
  async traceIdsWithPrefix(prefix: string, limit: number): Promise<string[]> {
    if (!/^[0-9a-f]*$/.test(prefix)) throw new Error("a trace id prefix is lowercase hex");
    const rows = await this.db.selectFrom("spans").select("trace_id").distinct().where("trace_id", "like", `${prefix}%`).orderBy("trace_id").limit(limit).execute();
    return rows.map((r) => r.trace_id);
  }

  /** Recent traces, newest first. Token totals count each generation once. */
  async summaries(opts: {
    limit: number;
    sinceMs?: number;
    errorsOnly?: boolean;
    traceIds?: string[];
    excludeTraceId?: string;
  }): Promise<TraceSummary[]> {
    // A span's tokens count unless its parent already counted them: the OpenAI and Anthropic SDKs' own
    // instrumentation nests a GenAI span carrying the same usage under mlxm's `chat` span of a routed call.
    const usage = (key: string) =>
      sql<number | null>`sum(case when json_extract(p.attributes_json, '$."gen_ai.usage.input_tokens"') is null
        and json_extract(p.attributes_json, '$."gen_ai.usage.output_tokens"') is null
        then json_extract(s.attributes_json, ${sql.lit(`$."${key}"`)}) end)`;
    let q = this.db
      .selectFrom("spans as s")
      .leftJoin("spans as p", (join) => join.onRef("p.trace_id", "=", "s.trace_id").onRef("p.span_id", "=", "s.parent_span_id"))
      .select([
        "s.trace_id",
        sql<number>`min(s.start_ms)`.as("start_ms"),
        sql<number>`max(s.start_ms + s.duration_ms)`.as("end_ms"),
        sql<number>`count(*)`.as("span_count"),
        sql<number>`sum(s.status_code = 2)`.as("error_count"),
        usage("gen_ai.usage.input_tokens").as("input_tokens"),
        usage("gen_ai.usage.output_tokens").as("output_tokens"),
        sql<string | null>`max(json_extract(s.attributes_json, '$."gen_ai.request.model"'))`.as("model"),
        // The root: a span without a parent, else (the CLI's span was never received) the earliest one.
        sql<string | null>`(select r.name from spans r where r.trace_id = s.trace_id order by r.parent_span_id is not null, r.start_ms limit 1)`.as("root_name"),
        sql<string | null>`(select r.service from spans r where r.trace_id = s.trace_id order by r.parent_span_id is not null, r.start_ms limit 1)`.as("root_service"),
      ])
      .groupBy("s.trace_id");
    if (opts.traceIds) q = q.where("s.trace_id", "in", opts.traceIds);
    if (opts.excludeTraceId) q = q.where("s.trace_id", "!=", opts.excludeTraceId);
    if (opts.sinceMs !== undefined) q = q.having(sql`min(s.start_ms)`, ">=", opts.sinceMs);
    if (opts.errorsOnly) q = q.having(sql`sum(s.status_code = 2)`, ">", 0);
    const rows = (await q.orderBy(sql`min(s.start_ms)`, "desc").limit(opts.limit).execute()) as SummaryRow[];
    return rows.map((r) => ({
      trace_id: r.trace_id,
      start_time: new Date(r.start_ms).toISOString(),
      duration_ms: Math.round((r.end_ms - r.start_ms) * 1000) / 1000,
      name: r.root_name ?? "",
      service: r.root_service ?? "",
      model: r.model,
      status: r.error_count > 0 ? "error" : "ok",
      span_count: r.span_count,
      error_count: r.error_count,
      input_tokens: r.input_tokens ?? 0,
      output_tokens: r.output_tokens ?? 0,
    }));
  }

  /** Retention by age and by count; returns how many spans were deleted. */
  async prune(opts: { olderThanMs: number; maxSpans: number }): Promise<number> {
    // -Infinity (a retention of forever) deletes nothing by age.
    const byAge = Number.isFinite(opts.olderThanMs) ? await this.db.deleteFrom("spans").where("start_ms", "<", opts.olderThanMs).executeTakeFirst() : { numDeletedRows: 0n };
    const { n } = await this.db.selectFrom("spans").select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow();
    let byCount = 0n;
    if (n > opts.maxSpans) {
      const cutoff = await this.db
        .selectFrom("spans")
        .select("start_ms")
        .orderBy("start_ms", "desc")
        .offset(opts.maxSpans)
        .limit(1)
        .executeTakeFirst();
      if (cutoff) byCount = (await this.db.deleteFrom("spans").where("start_ms", "<=", cutoff.start_ms).executeTakeFirst()).numDeletedRows;
    }
    return Number(byAge.numDeletedRows + byCount);
  }
}
