/** The `models`, `model_files` and `blobs` tables: which verified files make up each local model. */
import type { Insertable, Selectable, Transaction } from "kysely";
import { dataVersionOf, now, type Db } from "../database.js";
import type { Database, ModelsTable } from "../schema.js";

export type ModelRow = Selectable<ModelsTable>;
export type NewModel = Omit<Insertable<ModelsTable>, "id" | "created_at" | "modified_at">;

export interface ModelFileInput {
  filename: string;
  digest: string;
  sizeBytes: number;
  /** Where the blob lives on disk. */
  path: string;
  /** The user's own file, kept where it is (`mlxm import --link`), with its mtime at import. */
  linked?: { mtimeMs: number };
}

/** Names the lookup cache holds before it starts over (hits and misses alike). */
const LOOKUP_CACHE_SIZE = 1000;
/** Writes to the models table per connection, so every ModelsRepo on one connection sees the others' writes. */
const modelWrites = new WeakMap<Db, { count: number }>();

export class ModelsRepo {
  /**
   * `findByName` answers remembered for `lookup`, valid while `#cacheVersion` is current: the connection's count of
   * models writes (bumped before and after each) with its data_version (other connections' commits).
   */
  readonly #lookups = new Map<string, ModelRow | undefined>();
  #cacheVersion = "";
  readonly #writes: { count: number };

  constructor(private readonly db: Db) {
    let writes = modelWrites.get(db);
    if (!writes) modelWrites.set(db, (writes = { count: 0 }));
    this.#writes = writes;
  }

  /**
   * `findByName`, answered from memory while the models table cannot have changed. For the per-request question
   * "is there a local model of this name" (every routed request asks it): a query and its span cost ~0.5 ms there.
   */
  async lookup(name: string): Promise<ModelRow | undefined> {
    const version = this.#version();
    if (version !== undefined && version === this.#cacheVersion && this.#lookups.has(name)) {
      const hit = this.#lookups.get(name);
      return hit && { ...hit }; // a copy: a caller's change must not reach the next caller
    }
    const row = await this.findByName(name);
    // Only an answer read with no write in between is kept.
    if (version !== undefined && this.#version() === version) {
      if (this.#cacheVersion !== version || this.#lookups.size >= LOOKUP_CACHE_SIZE) {
        this.#lookups.clear();
        this.#cacheVersion = version;
      }
      this.#lookups.set(name, row && { ...row });
    }
    return row;
  }

  #version(): string | undefined {
    const dataVersion = dataVersionOf(this.db);
    if (!dataVersion) return undefined;
    try {
      return `${dataVersion()}:${this.#writes.count}`;
    } catch {
      return undefined; // closed: no caching
    }
  }

  /** Run a write with the lookup cache invalidated before it starts and after it ends (committed or not). */
  async #writing<T>(write: () => Promise<T>): Promise<T> {
    this.#writes.count++;
    try {
      return await write();
    } finally {
      this.#writes.count++;
    }
  }

  list(): Promise<ModelRow[]> {
    return this.db.selectFrom("models").selectAll().orderBy("name").execute();
  }

  findByName(name: string): Promise<ModelRow | undefined> {
    return this.db.selectFrom("models").selectAll().where("name", "=", name).executeTakeFirst();
  }

  /** The model's files in part order, with their on-disk paths. */
  files(modelId: number) {
    return this.db
      .selectFrom("model_files")
      .innerJoin("blobs", "blobs.digest", "model_files.blob_digest")
      .select([
        "model_files.part_index",
        "model_files.filename",
        "blobs.digest",
        "blobs.size_bytes",
        "blobs.path",
        "blobs.linked",
        "blobs.mtime_ms",
      ])
      .where("model_files.model_id", "=", modelId)
      .orderBy("model_files.part_index")
      .execute();
  }

  /**
   * Insert or replace a model and its files in one transaction, so a model is never visible half-written.
   * Blobs already known (same digest) are reused, which is how identical files are stored once.
   */
  async upsert(model: NewModel, files: ModelFileInput[]): Promise<ModelRow> {
    return this.#writing(() => this.db.transaction().execute(async (trx) => {
      const ts = now();
      for (const f of files) {
        const linked = f.linked ? 1 : 0;
        await trx
          .insertInto("blobs")
          .values({ digest: f.digest, size_bytes: f.sizeBytes, path: f.path, created_at: ts, linked, mtime_ms: f.linked?.mtimeMs ?? null })
          // A blob mlxm owns replaces a linked one with the same content (the user's file may change later); a
          // linked file never replaces an owned blob.
          .onConflict((oc) =>
            linked
              ? oc.column("digest").doNothing()
              : oc.column("digest").doUpdateSet({ path: f.path, linked: 0, mtime_ms: null }).where("blobs.linked", "=", 1),
          )
          .execute();
      }
      const row = await trx
        .insertInto("models")
        .values({ ...model, created_at: ts, modified_at: ts })
        .onConflict((oc) =>
          oc.column("name").doUpdateSet((eb) => ({
            source: eb.ref("excluded.source"),
            repo: eb.ref("excluded.repo"),
            revision: eb.ref("excluded.revision"),
            quant: eb.ref("excluded.quant"),
            format: eb.ref("excluded.format"),
            family: eb.ref("excluded.family"),
            parameter_size: eb.ref("excluded.parameter_size"),
            context_length: eb.ref("excluded.context_length"),
            size_bytes: eb.ref("excluded.size_bytes"),
            digest: eb.ref("excluded.digest"),
            details_json: eb.ref("excluded.details_json"),
            parent: eb.ref("excluded.parent"),
            preset_json: eb.ref("excluded.preset_json"),
            modified_at: ts,
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx.deleteFrom("model_files").where("model_id", "=", row.id).execute();
      for (const [i, f] of files.entries()) {
        await trx
          .insertInto("model_files")
          .values({ model_id: row.id, part_index: i, filename: f.filename, blob_digest: f.digest })
          .execute();
      }
      return row;
    }));
  }

  /**
   * A second name for `source`'s files (`mlxm cp`, `mlxm create --from`): the same blobs, so removing either name
   * keeps the files the other still uses. `changes` sets the new row's parent and preset. Replaces `destination`
   * if it exists, as Ollama's copy does. Returns undefined when `source` does not exist.
   */
  async copy(source: string, destination: string, changes: Pick<NewModel, "parent" | "preset_json">): Promise<ModelRow | undefined> {
    const row = await this.findByName(source);
    if (!row) return undefined;
    const files = await this.files(row.id);
    const { id: _id, created_at: _c, modified_at: _m, name: _n, ...model } = row;
    return this.upsert(
      { ...model, ...changes, name: destination },
      files.map((f) => ({
        filename: f.filename,
        digest: f.digest,
        sizeBytes: f.size_bytes,
        path: f.path,
        ...(f.linked ? { linked: { mtimeMs: f.mtime_ms ?? 0 } } : {}),
      })),
    );
  }

  /**
   * Delete a model's rows. Returns the blobs no other model uses any more, which the caller may delete from disk;
   * linked blobs (the user's own files) are forgotten but never returned, so they are never deleted.
   */
  async delete(name: string): Promise<{ deleted: boolean; orphanBlobs: { digest: string; path: string }[] }> {
    return this.#writing(() => this.db.transaction().execute(async (trx) => {
      const model = await trx.selectFrom("models").select("id").where("name", "=", name).executeTakeFirst();
      if (!model) return { deleted: false, orphanBlobs: [] };
      await trx.deleteFrom("model_files").where("model_id", "=", model.id).execute();
      await trx.deleteFrom("models").where("id", "=", model.id).execute();
      return { deleted: true, orphanBlobs: await deleteOrphanBlobRows(trx) };
    }));
  }

  /**
   * Forget blobs no model uses any more, as a replace leaves them (a pull or import under an existing name, a copy
   * over one); returns those mlxm owns, for the caller to delete from disk (linked files are the user's own).
   */
  async takeOrphanBlobs(): Promise<{ digest: string; path: string }[]> {
    return this.#writing(() => this.db.transaction().execute(deleteOrphanBlobRows));
  }

  findBlob(digest: string) {
    return this.db.selectFrom("blobs").selectAll().where("digest", "=", digest).executeTakeFirst();
  }
}

/** Deletes the rows of blobs no model uses; returns those mlxm owns (linked files are the user's, never deleted). */
async function deleteOrphanBlobRows(trx: Transaction<Database>): Promise<{ digest: string; path: string }[]> {
  const orphans = await trx
    .deleteFrom("blobs")
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom("model_files").select("model_id").whereRef("model_files.blob_digest", "=", "blobs.digest"))))
    .returning(["digest", "path", "linked"])
    .execute();
  return orphans.filter((b) => !b.linked).map(({ digest, path }) => ({ digest, path }));
}
