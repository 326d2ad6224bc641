/** The `api_keys` table. Only a SHA-256 of each key is stored; the key itself is shown once, at creation. */
import crypto from "node:crypto";
import type { Selectable } from "kysely";
import { now, type Db } from "../database.js";
import type { ApiKeysTable } from "../schema.js";

export type ApiKeyRow = Omit<Selectable<ApiKeysTable>, "hash">;

export function hashApiKey(key: string): string {
  return crypto.createHash("sha256").update(key).digest("hex");
}

export class ApiKeysRepo {
  constructor(private readonly db: Db) {}

  /** Create a key; returns the secret once. */
  async create(name: string): Promise<{ row: ApiKeyRow; key: string }> {
    const key = `mlxm-${crypto.randomBytes(24).toString("base64url")}`;
    const row = await this.db
      .insertInto("api_keys")
      .values({ name, prefix: key.slice(0, 9), hash: hashApiKey(key), created_at: now() })
      .returning(["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])
      .executeTakeFirstOrThrow();
    return { row, key };
  }

  list(): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom("api_keys")
      .select(["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])
      .orderBy("id")
      .execute();
  }

  /** The active key matching `key`, marking it used. */
  async verify(key: string): Promise<ApiKeyRow | undefined> {
    const row = await this.db
      .selectFrom("api_keys")
      .select(["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])
      .where("hash", "=", hashApiKey(key))
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (row) await this.db.updateTable("api_keys").set({ last_used_at: now() }).where("id", "=", row.id).execute();
    return row;
  }

  async revoke(name: string): Promise<boolean> {
    const r = await this.db
      .updateTable("api_keys")
      .set({ revoked_at: now() })
      .where("name", "=", name)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
