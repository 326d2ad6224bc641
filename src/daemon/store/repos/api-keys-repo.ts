/** The `api_keys` table. Only a SHA-256 of each key is stored; the key itself is shown once, at creation. */
import crypto from "node:crypto";
import type { Selectable } from "kysely";
import { now, type Db } from "../database.js";
import type { ApiKeysTable } from "../schema.js";

export type ApiKeyRow = Omit<Selectable<ApiKeysTable>, "hash">;

const COLUMNS = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"] as const;

/** SHA-256 hex of a key: keys are 192-bit random, so a fast unsalted hash is enough to make a leaked table useless. */
export function hashApiKey(key: string): string {
  return crypto.createHash("sha256").update(key).digest("hex");
}

export class ApiKeysRepo {
  constructor(private readonly db: Db) {}

  /** Create a key; returns the secret once. A name already used (even by a revoked key) is refused by the table. */
  async create(name: string): Promise<{ row: ApiKeyRow; key: string }> {
    const key = `mlxm-${crypto.randomBytes(24).toString("base64url")}`;
    const row = await this.db
      .insertInto("api_keys")
      .values({ name, prefix: key.slice(0, 9), hash: hashApiKey(key), created_at: now() })
      .returning([...COLUMNS])
      .executeTakeFirstOrThrow();
    return { row, key };
  }

  list(): Promise<ApiKeyRow[]> {
    return this.db.selectFrom("api_keys").select([...COLUMNS]).orderBy("id").execute();
  }

  findByName(name: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom("api_keys").select([...COLUMNS]).where("name", "=", name).executeTakeFirst();
  }

  /** The hashes of keys not revoked, for the daemon's in-memory verifier. */
  activeHashes(): Promise<{ id: number; name: string; hash: string }[]> {
    return this.db.selectFrom("api_keys").select(["id", "name", "hash"]).where("revoked_at", "is", null).execute();
  }

  async markUsed(id: number): Promise<void> {
    await this.db.updateTable("api_keys").set({ last_used_at: now() }).where("id", "=", id).execute();
  }

  /** Revoke the active key called `name`; false when there is none. */
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
