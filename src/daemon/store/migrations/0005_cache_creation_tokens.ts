/**
 * Prompt-cache writes on the usage row: Anthropic bills tokens written to its cache above plain input (1.25x) and
 * tokens read from it far below (0.1x), so a row keeps both apart from the plain prompt (`cached_tokens` are reads).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("requests").addColumn("cache_creation_tokens", "integer").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("requests").dropColumn("cache_creation_tokens").execute();
}
