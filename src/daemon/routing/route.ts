/** A route as the router uses it, built from its store row; and its public form (no key, ever). */
import { displayUrl } from "../../observability/redact.js";
import { type Provider, type RouteEntry } from "../../protocol/routes.js";
import type { RouteRow } from "../store/repos/routes-repo.js";

export type KeySource = { kind: "env"; name: string } | { kind: "stored"; sealed: string } | { kind: "default" } | { kind: "none" };

export interface Route {
  id: number;
  pattern: string;
  provider: Provider;
  upstreamModel: string | null;
  baseUrl: string | null;
  keySource: KeySource;
  fallback: string | null;
  priority: number;
  timeoutMs: number | null;
  preferRemote: boolean;
  maxConcurrency: number | null;
  requestsPerMinute: number | null;
  createdAt: string;
}

/** credential_ref holds `env:NAME`, `stored` or nothing (the provider's usual variable). */
export function fromRouteRow(row: RouteRow): Route {
  const ref = row.credential_ref;
  const keySource: KeySource =
    ref?.startsWith("env:") ? { kind: "env", name: ref.slice(4) }
    : ref === "stored" && row.api_key_sealed ? { kind: "stored", sealed: row.api_key_sealed }
    : row.provider === "openai" || row.provider === "anthropic" ? { kind: "default" }
    : { kind: "none" };
  return {
    id: row.id,
    pattern: row.pattern,
    provider: row.provider as Provider,
    upstreamModel: row.upstream_model,
    baseUrl: row.base_url,
    keySource,
    fallback: row.fallback,
    priority: row.priority,
    timeoutMs: row.timeout_ms,
    preferRemote: row.prefer_local === 0,
    maxConcurrency: row.max_concurrency,
    requestsPerMinute: row.requests_per_minute,
    createdAt: row.created_at,
  };
}

/** The key's origin as `route ls` shows it. */
export function describeKeySource(source: KeySource, provider: Provider): string {
  switch (source.kind) {
    case "env":
      return `env:${source.name}`;
    case "stored":
      return "stored";
    case "default":
      return `env:${provider === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY"}`;
    case "none":
      return "none";
  }
}

export function toRouteEntry(route: Route): RouteEntry {
  return {
    pattern: route.pattern,
    provider: route.provider,
    model: route.upstreamModel,
    base_url: route.baseUrl === null ? null : displayUrl(route.baseUrl),
    key_source: describeKeySource(route.keySource, route.provider),
    fallback: route.fallback,
    priority: route.priority,
    timeout_ms: route.timeoutMs,
    prefer_remote: route.preferRemote,
    max_concurrency: route.maxConcurrency,
    requests_per_minute: route.requestsPerMinute,
    created_at: route.createdAt,
  };
}

/** "openai:gpt-4o-mini": which upstream served a request, in headers, rows and spans. */
export function backendLabel(route: Route, upstreamModel: string): string {
  return `${route.provider}:${upstreamModel}`;
}
