/** The `settings` table: small key/value state the daemon keeps between runs. */
import { now, type Db } from "../database.js";

export class SettingsRepo {
  constructor(private readonly db: Db) {}

  async get(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("settings").select("value").where("key", "=", key).executeTakeFirst();
    return row?.value;
  }

  async set(key: string, value: string): Promise<void> {
    await this.db
      .insertInto("settings")
      .values({ key, value, updated_at: now() })
      .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: now() }))
      .execute();
  }

  async all(): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom("settings").select(["key", "value"]).execute();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }
}
