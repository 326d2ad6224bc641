/**
 * The model library: presets and aliases (a model row that names its parent and carries default parameters), and
 * linked imports (a blob that stays where the user keeps it, recorded with its size and mtime so a changed file is
 * refused instead of served).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("models").addColumn("parent", "text").execute();
  // JSON of a ModelPreset (system prompt, sampling defaults, context size); null for a plain model.
  await db.schema.alterTable("models").addColumn("preset_json", "text").execute();
  await db.schema.alterTable("blobs").addColumn("linked", "integer", (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable("blobs").addColumn("mtime_ms", "real").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("blobs").dropColumn("mtime_ms").execute();
  await db.schema.alterTable("blobs").dropColumn("linked").execute();
  await db.schema.alterTable("models").dropColumn("preset_json").execute();
  await db.schema.alterTable("models").dropColumn("parent").execute();
}
