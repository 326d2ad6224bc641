/**
 * Routing: what a route needs beyond a pattern and a provider (priority, fallback, timeout, limits, an encrypted key),
 * and what a request row needs for `mlxm usage` (API, backend, cached tokens, TTFT, cost).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("routes").addColumn("priority", "integer", (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable("routes").addColumn("fallback", "text").execute();
  await db.schema.alterTable("routes").addColumn("timeout_ms", "integer").execute();
  // 1: a local model of the same name wins (the default); 0: the route wins even over a local model.
  await db.schema.alterTable("routes").addColumn("prefer_local", "integer", (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable("routes").addColumn("max_concurrency", "integer").execute();
  await db.schema.alterTable("routes").addColumn("requests_per_minute", "integer").execute();
  // AES-256-GCM ciphertext (base64 iv.tag.data) of a key given with --api-key-stdin; never the clear key.
  await db.schema.alterTable("routes").addColumn("api_key_sealed", "text").execute();

  await db.schema.alterTable("requests").addColumn("api", "text").execute();
  await db.schema.alterTable("requests").addColumn("backend", "text").execute();
  await db.schema.alterTable("requests").addColumn("cached_tokens", "integer").execute();
  await db.schema.alterTable("requests").addColumn("ttft_ms", "real").execute();
  await db.schema.alterTable("requests").addColumn("cost_usd", "real").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const c of ["priority", "fallback", "timeout_ms", "prefer_local", "max_concurrency", "requests_per_minute", "api_key_sealed"]) {
    await db.schema.alterTable("routes").dropColumn(c).execute();
  }
  for (const c of ["api", "backend", "cached_tokens", "ttft_ms", "cost_usd"]) {
    await db.schema.alterTable("requests").dropColumn(c).execute();
  }
}
