/**
 * mlxm's trace endpoints beside the native API: the CLI hands its command spans in (`POST /api/traces`),
 * and `mlxm trace` reads them back with the daemon's own spans.
 */
import { Router, type Request } from "express";
import { daemonObservability } from "../../observability/daemon-setup.js";
import { IngestSpansRequest, type TraceListResponse, type TraceResponse, type TraceSummary } from "../../protocol/traces.js";
import { jsonBody } from "./json-body.js";
import type { DaemonContext } from "../context.js";
import { credentialOf } from "../auth/guard.js";
import { badRequest, HttpError, notFound } from "../errors.js";
import { clientAbortSignal, ndjsonFormat, sendStream } from "./streaming.js";

export function createTracesRouter(ctx: DaemonContext): Router {
  const router = Router();
  router.post("/traces", jsonBody("16mb"), async (req, res) => {
    const parsed = IngestSpansRequest.safeParse(req.body);
    if (!parsed.success) throw badRequest(`invalid spans: ${parsed.error.issues[0]?.message ?? "bad shape"}`, "spans");
    await ctx.services().spanIngest.ingest(parsed.data.spans);
    res.status(202).json({ accepted: parsed.data.spans.length });
  });

  router.get("/traces", async (req, res) => {
    const limit = intParam(req.query.limit, 20, 1, 1000, "limit");
    const sinceMs = timeParam(req.query.since);
    const errorsOnly = req.query.errors === "true" || req.query.errors === "1";
    const traces = await ctx.services().store.spans.summaries({ limit, sinceMs, errorsOnly, excludeTraceId: callerTraceId(req) });
    const body: TraceListResponse = { traces };
    res.json(body);
  });

  // Finished traces pushed as NDJSON lines (TraceSummary) as they finish, until the client leaves.
  router.get("/traces/follow", async (req, res) => {
    const { spanIngest, store } = ctx.services();
    const errorsOnly = req.query.errors === "true" || req.query.errors === "1";
    const caller = callerTraceId(req);
    const signal = clientAbortSignal(req, res);
    // A key revoked while this stream is open stops it at the next trace, as it refuses the key's next request.
    const key = req.principal?.kind === "key" ? credentialOf(req) : undefined;
    async function* summaries(): AsyncGenerator<TraceSummary> {
      for await (const root of spanIngest.feed.follow(signal)) {
        if (key !== undefined && !ctx.verifier.verify(key)) throw new HttpError("unauthorized", "the API key of this stream was revoked");
        if (root.trace_id === caller) continue;
        // A command's root arrives last; its daemon spans may still sit in the batch processor for a moment.
        await daemonObservability()?.flushLocal().catch(() => {});
        const [summary] = await store.spans.summaries({ limit: 1, traceIds: [root.trace_id], errorsOnly });
        if (summary) yield summary;
      }
    }
    await sendStream(res, summaries(), ndjsonFormat<TraceSummary>(), ctx.logger, { headersFirst: true });
  });

  // `last` is the newest trace; otherwise a full id or a unique prefix of at least 8 characters.
  router.get("/traces/:id", async (req, res) => {
    const { store } = ctx.services();
    const id = req.params.id;
    let traceId: string | undefined;
    if (id === "last") {
      traceId = (await store.spans.summaries({ limit: 1, excludeTraceId: callerTraceId(req) }))[0]?.trace_id;
    } else if (/^[0-9a-f]{32}$/.test(id)) {
      traceId = id;
    } else if (/^[0-9a-f]{8,31}$/.test(id)) {
      const matches = await store.spans.traceIdsWithPrefix(id, 2);
      if (matches.length > 1) throw badRequest(`trace id prefix ${id} is ambiguous`, "id");
      traceId = matches[0];
    } else {
      throw badRequest(`"${id}" is not a trace id`, "id");
    }
    const spans = traceId ? await store.spans.trace(traceId) : [];
    if (!traceId || spans.length === 0) throw notFound(id === "last" ? "no traces recorded yet" : `trace ${id} not found`);
    const [summary] = await store.spans.summaries({ limit: 1, traceIds: [traceId] });
    const body: TraceResponse = { trace_id: traceId, summary: summary!, spans };
    res.json(body);
  });

  return router;
}

/** The trace of the command asking: `mlxm trace --last` means the one before itself. */
function callerTraceId(req: Request): string | undefined {
  return /^00-([0-9a-f]{32})-/.exec(req.header("traceparent") ?? "")?.[1];
}

function intParam(raw: unknown, def: number, min: number, max: number, name: string): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${name} must be a whole number from ${min} to ${max}`, name);
  return n;
}

function timeParam(raw: unknown): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const s = String(raw);
  const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  // Beyond Date's range (±8.64e15 ms) a later toISOString() would throw.
  if (!Number.isFinite(n) || Math.abs(n) > 8.64e15) throw badRequest("since must be an ISO-8601 time or epoch milliseconds", "since");
  return n;
}
