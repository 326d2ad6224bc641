/** How `mlxm route …` and `mlxm usage` draw their answers on a terminal. */
import type { RouteEntry, RouteTestResponse, UsageResponse, UsageRow } from "../protocol/routes.js";
import { formatDuration, renderTable } from "./render.js";

export function renderRoutes(routes: RouteEntry[]): string {
  if (routes.length === 0) return "no routes (add one with `mlxm route add <pattern> --provider …`)";
  return renderTable(routes, [
    { header: "PATTERN", get: (r) => r.pattern },
    { header: "PROVIDER", get: (r) => r.provider },
    { header: "MODEL", get: (r) => r.model ?? "(same)" },
    { header: "BASE URL", get: (r) => r.base_url ?? "-" },
    { header: "KEY", get: (r) => r.key_source },
    { header: "PRIO", get: (r) => String(r.priority), align: "right" },
    { header: "FALLBACK", get: (r) => r.fallback ?? "-" },
    { header: "LIMITS", get: (r) => limits(r) },
  ]);
}

function limits(r: RouteEntry): string {
  const parts = [
    r.max_concurrency !== null ? `${r.max_concurrency} at once` : "",
    r.requests_per_minute !== null ? `${r.requests_per_minute}/min` : "",
    r.timeout_ms !== null ? `timeout ${formatDuration(r.timeout_ms)}` : "",
    r.prefer_remote ? "over local" : "",
  ].filter(Boolean);
  return parts.join(", ") || "-";
}

export function renderRouteTest(t: RouteTestResponse): string {
  return [
    `model     ${t.model}`,
    `backend   ${t.backend}${t.pattern ? `  (route ${t.pattern})` : ""}`,
    `latency   ${t.latency_ms} ms${t.ttft_ms !== null ? `  (first token ${t.ttft_ms} ms)` : ""}`,
    `tokens    ${t.input_tokens} in, ${t.output_tokens} out`,
    `reply     ${JSON.stringify(t.text.slice(0, 80))}`,
  ].join("\n");
}

export function renderUsage(u: UsageResponse): string {
  const rows: UsageRow[] = [...u.rows, { ...u.total, key: "TOTAL" }];
  return [
    `since ${u.since}, by ${u.by}`,
    renderTable(rows, [
      { header: u.by.toUpperCase(), get: (r) => r.key },
      { header: "REQUESTS", get: (r) => String(r.requests), align: "right" },
      { header: "ERRORS", get: (r) => String(r.errors), align: "right" },
      { header: "INPUT", get: (r) => String(r.input_tokens), align: "right" },
      { header: "CACHED", get: (r) => String(r.cached_tokens), align: "right" },
      { header: "CACHE WRITES", get: (r) => String(r.cache_creation_tokens), align: "right" },
      { header: "OUTPUT", get: (r) => String(r.output_tokens), align: "right" },
      { header: "AVG TTFT", get: (r) => (r.avg_ttft_ms === null ? "-" : `${Math.round(r.avg_ttft_ms)} ms`), align: "right" },
      { header: "COST", get: (r) => (r.cost_usd === null ? "-" : `$${r.cost_usd.toFixed(r.cost_usd < 1 ? 6 : 2)}`), align: "right" },
    ]),
  ].join("\n");
}
