/** The first schema: every table the product needs now and soon. Later changes add numbered migrations. */
import type { Kysely } from "kysely";
import { sql } from "../kysely-runtime.js";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("models")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("repo", "text")
    .addColumn("revision", "text")
    .addColumn("quant", "text")
    .addColumn("format", "text", (c) => c.notNull().defaultTo("gguf"))
    .addColumn("family", "text")
    .addColumn("parameter_size", "text")
    .addColumn("context_length", "integer")
    .addColumn("size_bytes", "integer", (c) => c.notNull())
    .addColumn("digest", "text", (c) => c.notNull())
    .addColumn("details_json", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("modified_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("blobs")
    .addColumn("digest", "text", (c) => c.primaryKey())
    .addColumn("size_bytes", "integer", (c) => c.notNull())
    .addColumn("path", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("model_files")
    .addColumn("model_id", "integer", (c) => c.notNull().references("models.id").onDelete("cascade"))
    .addColumn("part_index", "integer", (c) => c.notNull())
    .addColumn("filename", "text", (c) => c.notNull())
    .addColumn("blob_digest", "text", (c) => c.notNull().references("blobs.digest"))
    .addPrimaryKeyConstraint("model_files_pk", ["model_id", "part_index"])
    .execute();
  await db.schema.createIndex("model_files_blob").on("model_files").column("blob_digest").execute();

  await db.schema
    .createTable("pulls")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("ref", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("total_bytes", "integer")
    .addColumn("completed_bytes", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("plan_json", "text")
    .addColumn("error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("pulls_ref_status").on("pulls").columns(["ref", "status"]).execute();

  await db.schema
    .createTable("routes")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("pattern", "text", (c) => c.notNull().unique())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("upstream_model", "text")
    .addColumn("base_url", "text")
    .addColumn("credential_ref", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .addColumn("revoked_at", "text")
    .execute();

  await db.schema
    .createTable("requests")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("trace_id", "text")
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("route", "text", (c) => c.notNull())
    .addColumn("model", "text")
    .addColumn("status_code", "integer", (c) => c.notNull())
    .addColumn("duration_ms", "real", (c) => c.notNull())
    .addColumn("input_tokens", "integer")
    .addColumn("output_tokens", "integer")
    .addColumn("error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("requests_created").on("requests").column("created_at").execute();

  await db.schema
    .createTable("spans")
    .addColumn("trace_id", "text", (c) => c.notNull())
    .addColumn("span_id", "text", (c) => c.notNull())
    .addColumn("parent_span_id", "text")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("service", "text", (c) => c.notNull())
    .addColumn("kind", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("start_ms", "real", (c) => c.notNull())
    .addColumn("duration_ms", "real", (c) => c.notNull())
    .addColumn("status_code", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("status_message", "text")
    .addColumn("attributes_json", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("events_json", "text", (c) => c.notNull().defaultTo("[]"))
    .addPrimaryKeyConstraint("spans_pk", ["trace_id", "span_id"])
    .execute();
  await db.schema.createIndex("spans_start").on("spans").column("start_ms").execute();

  await db.schema
    .createTable("settings")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  // Keep the planner's statistics fresh for the span and request tables, which grow fastest.
  await sql`PRAGMA optimize`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["settings", "spans", "requests", "api_keys", "routes", "pulls", "model_files", "blobs", "models"]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
