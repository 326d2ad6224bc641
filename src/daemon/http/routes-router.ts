/**
 * mlxm's routing endpoints beside the native API: `/api/routes` (list, add, remove, test) and `/api/usage`.
 * A key sent with a new route is sealed before it reaches the store and never appears in any answer.
 */
import { requireAdmin } from "../auth/guard.js";
import express, { Router } from "express";
import { collectChat } from "../core/chat.js";
import {
  AddRouteRequest,
  RemoveRouteRequest,
  RouteTestRequest,
  UsageGroup,
  type RemoveRouteResponse,
  type RouteListResponse,
  type RouteTestResponse,
  type UsageResponse,
} from "../../protocol/routes.js";
import type { DaemonContext } from "../context.js";
import { badRequest, HttpError } from "../errors.js";
import { currentRecord } from "../routing/request-record.js";
import { fromRouteRow, toRouteEntry } from "../routing/route.js";
import type { UsageTotals } from "../store/repos/requests-repo.js";
import { failOnErrorFinish } from "./streaming.js";

const FIRST_ISO_TIME = Date.parse("0000-01-01T00:00:00.000Z");
const LAST_ISO_TIME = Date.parse("9999-12-31T23:59:59.999Z");

export function createRoutesRouter(ctx: DaemonContext): Router {
  const router = Router();
  router.use(express.json({ limit: "64kb" }));

  router.get("/routes", async (_req, res) => {
    const body: RouteListResponse = { routes: (await ctx.services().router.routes()).map(toRouteEntry) };
    res.json(body);
  });

  // Adding, replacing or removing a route reconfigures where prompts and the daemon's keys go: admin only. Reading
  // the table and testing a route stay open to any key.
  const admin = requireAdmin("changing routes", "mlxm route");
  router.post("/routes", admin, async (req, res) => {
    const parsed = AddRouteRequest.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw badRequest(`invalid route: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "bad shape"}`, String(issue?.path[0] ?? ""));
    }
    const r = parsed.data;
    if ((r.provider === "openai-compatible" || r.provider === "mlxm") && !r.base_url) {
      throw badRequest(`provider ${r.provider} needs a base URL (--base-url)`, "base_url");
    }
    if (r.fallback === r.pattern) throw badRequest("a route cannot fall back to itself", "fallback");
    const { store, router: routing, secrets } = ctx.services();
    if (!r.replace && (await store.routes.find(r.pattern))) {
      throw new HttpError("conflict", `a route for "${r.pattern}" exists; remove it first or pass --replace`, { pattern: r.pattern });
    }
    const row = await store.routes.upsert({
      pattern: r.pattern,
      provider: r.provider,
      upstream_model: r.model ?? null,
      base_url: r.base_url ?? null,
      credential_ref: r.api_key ? "stored" : r.api_key_env ? `env:${r.api_key_env}` : null,
      api_key_sealed: r.api_key ? secrets.seal(r.api_key) : null,
      fallback: r.fallback ?? null,
      priority: r.priority ?? 0,
      timeout_ms: r.timeout_ms ?? null,
      prefer_local: r.prefer_remote ? 0 : 1,
      max_concurrency: r.max_concurrency ?? null,
      requests_per_minute: r.requests_per_minute ?? null,
    });
    routing.invalidate();
    res.status(201).json(toRouteEntry(fromRouteRow(row)));
  });

  router.delete("/routes", admin, async (req, res) => {
    const parsed = RemoveRouteRequest.safeParse(req.body);
    if (!parsed.success) throw badRequest("pattern is required", "pattern");
    const { store, router: routing } = ctx.services();
    const removed = await store.routes.remove(parsed.data.pattern);
    if (!removed) throw new HttpError("not_found", `no route for "${parsed.data.pattern}"`);
    routing.invalidate();
    const body: RemoveRouteResponse = { removed };
    res.json(body);
  });

  // One tiny request through the router, exactly as an API call would go (fallbacks included).
  router.post("/routes/test", async (req, res) => {
    const parsed = RouteTestRequest.safeParse(req.body);
    if (!parsed.success) throw badRequest("model is required", "model");
    const { model } = parsed.data;
    const { router: routing } = ctx.services();
    const started = performance.now();
    const result = await collectChat(
      failOnErrorFinish(routing.chat({ model, messages: [{ role: "user", content: "Say hi." }], sampling: { maxTokens: 8 } }, AbortSignal.timeout(120_000))),
    );
    const record = currentRecord();
    const [first] = await routing.plan(model);
    const body: RouteTestResponse = {
      model,
      backend: record?.backend ?? "local",
      pattern: first?.kind === "route" && record?.backend !== "local" ? first.route.pattern : null,
      latency_ms: Math.round(performance.now() - started),
      ttft_ms: record?.ttftMs ?? null,
      input_tokens: result.usage.inputTokens,
      output_tokens: result.usage.outputTokens,
      text: result.text,
    };
    res.json(body);
  });

  router.get("/usage", async (req, res) => {
    const since = typeof req.query.since === "string" && req.query.since ? Date.parse(req.query.since) : Date.now() - 24 * 3600_000;
    if (!Number.isFinite(since)) throw badRequest("since must be an ISO-8601 time", "since");
    // Rows are compared as ISO text, which only orders within years 0000-9999: beyond, say so; before, take all.
    if (since > LAST_ISO_TIME) throw badRequest("since is after the year 9999", "since");
    const by = UsageGroup.safeParse(req.query.by ?? "model");
    if (!by.success) throw badRequest("by must be one of model, backend, day, api", "by");
    const sinceIso = new Date(Math.max(since, FIRST_ISO_TIME)).toISOString();
    const { store } = ctx.services();
    const [rows, [total]] = await Promise.all([store.requests.summarise(sinceIso, by.data), store.requests.summarise(sinceIso, undefined)]);
    const body: UsageResponse = { since: sinceIso, by: by.data, rows, total: total ?? emptyTotals() };
    res.json(body);
  });

  return router;
}

function emptyTotals(): UsageTotals {
  return { key: "", requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, cache_creation_tokens: 0, cost_usd: null, avg_ttft_ms: null };
}
