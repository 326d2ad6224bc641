/** The `requests` table: one row per API request, linked to its trace. */
import type { Insertable, Selectable } from "kysely";
import type { Db } from "../database.js";
import type { RequestsTable } from "../schema.js";

export type RequestRow = Selectable<RequestsTable>;

export class RequestsRepo {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<RequestsTable>): Promise<void> {
    await this.db.insertInto("requests").values(row).onConflict((oc) => oc.column("id").doNothing()).execute();
  }

  recent(limit = 50): Promise<RequestRow[]> {
    return this.db.selectFrom("requests").selectAll().orderBy("created_at", "desc").limit(limit).execute();
  }

  async deleteOlderThan(isoTime: string): Promise<number> {
    const r = await this.db.deleteFrom("requests").where("created_at", "<", isoTime).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
