/**
 * `/api/routes` and `/api/usage`: mlxm's own endpoints for cloud and remote routing, shared by MlxmClient and the
 * daemon. A route's key is never part of any response: only where it comes from (`key_source`).
 */
import { z } from "zod";

export const PROVIDERS = ["openai", "anthropic", "openai-compatible", "mlxm"] as const;
export const Provider = z.enum(PROVIDERS);
export type Provider = z.infer<typeof Provider>;

// Control characters: C0, DEL and C1.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The `user:password@` of a URL (group 1 is what comes before it). */
export const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

export const AddRouteRequest = z
  .object({
    /** An exact model name or a glob (`gpt-*`, `claude-*`); no control characters (they would reach terminals and headers). */
    pattern: z
      .string()
      .min(1)
      .max(200)
      .refine((p) => !CONTROL.test(p), "must not contain control characters"),
    provider: Provider,
    /** The model name sent upstream; default the requested name. */
    model: z.string().min(1).max(200).optional(),
    base_url: z
      .url({ protocol: /^https?$/ })
      // Credentials in a URL would be shown wherever the route is (route ls, model lists) and stored in clear.
      .refine((u) => !URL_CREDENTIALS.test(u), "a base URL must not carry credentials (user:password@): give the key with --api-key-env or --api-key-stdin, which is stored encrypted")
      .optional(),
    /** Environment variable read at request time for the key. */
    api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").optional(),
    /** A key to store encrypted (sent by `route add --api-key-stdin`); never returned. */
    api_key: z.string().min(1).max(4096).optional(),
    fallback: z.string().min(1).max(200).optional(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
    timeout_ms: z.number().int().min(1).max(3_600_000).optional(),
    /** Let the route win over a local model of the same name. */
    prefer_remote: z.boolean().optional(),
    max_concurrency: z.number().int().min(1).max(100_000).optional(),
    requests_per_minute: z.number().int().min(1).max(1_000_000).optional(),
    /** Replace a route with the same pattern instead of failing with a conflict. */
    replace: z.boolean().optional(),
  })
  .refine((r) => !(r.api_key && r.api_key_env), { message: "give either api_key or api_key_env, not both", path: ["api_key"] });
export type AddRouteRequest = z.infer<typeof AddRouteRequest>;

export const RouteEntry = z.object({
  pattern: z.string(),
  provider: Provider,
  model: z.string().nullable(),
  base_url: z.string().nullable(),
  /** "env:NAME", "stored" (encrypted in the database), or "default" (the provider's usual variable). */
  key_source: z.string(),
  fallback: z.string().nullable(),
  priority: z.number(),
  timeout_ms: z.number().nullable(),
  prefer_remote: z.boolean(),
  max_concurrency: z.number().nullable(),
  requests_per_minute: z.number().nullable(),
  created_at: z.string(),
});
export type RouteEntry = z.infer<typeof RouteEntry>;

export const RouteListResponse = z.object({ routes: z.array(RouteEntry) });
export type RouteListResponse = z.infer<typeof RouteListResponse>;

export const RemoveRouteRequest = z.object({ pattern: z.string().min(1) });
export const RemoveRouteResponse = z.object({ removed: z.boolean() });
export type RemoveRouteResponse = z.infer<typeof RemoveRouteResponse>;

export const RouteTestRequest = z.object({ model: z.string().min(1).max(200) });
export const RouteTestResponse = z.object({
  model: z.string(),
  /** "local" or "<provider>:<upstream model>". */
  backend: z.string(),
  /** The route pattern that matched, null for a local model. */
  pattern: z.string().nullable(),
  latency_ms: z.number(),
  ttft_ms: z.number().nullable(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  text: z.string(),
});
export type RouteTestResponse = z.infer<typeof RouteTestResponse>;

export const USAGE_GROUPS = ["model", "backend", "day", "api"] as const;
export const UsageGroup = z.enum(USAGE_GROUPS);
export type UsageGroup = z.infer<typeof UsageGroup>;

export const UsageRow = z.object({
  key: z.string(),
  requests: z.number(),
  errors: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  cached_tokens: z.number(),
  /** Input tokens written to a provider's prompt cache (Anthropic's cache_creation_input_tokens); billed above input. */
  cache_creation_tokens: z.number(),
  /** USD; null when some rows had no known price. */
  cost_usd: z.number().nullable(),
  avg_ttft_ms: z.number().nullable(),
});
export type UsageRow = z.infer<typeof UsageRow>;

export const UsageResponse = z.object({
  since: z.string(),
  by: UsageGroup,
  rows: z.array(UsageRow),
  total: UsageRow,
});
export type UsageResponse = z.infer<typeof UsageResponse>;
