/** The `requests` table: one row per API request, linked to its trace; `summarise` feeds `mlxm usage`. */
import { sql, type Insertable, type Selectable } from "kysely";
import type { Db } from "../database.js";
import type { RequestsTable } from "../schema.js";

export type RequestRow = Selectable<RequestsTable>;

export type UsageGrouping = "model" | "backend" | "day" | "api";

export interface UsageTotals {
  key: string;
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  cost_usd: number | null;
  avg_ttft_ms: number | null;
}

export class RequestsRepo {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<RequestsTable>): Promise<void> {
    await this.db.insertInto("requests").values(row).onConflict((oc) => oc.column("id").doNothing()).execute();
  }

  recent(limit = 50): Promise<RequestRow[]> {
    return this.db.selectFrom("requests").selectAll().orderBy("created_at", "desc").limit(limit).execute();
  }

  /** Totals per model, backend, API or UTC day since `sinceIso`, largest first; `key` "" is the grand total. */
  async summarise(sinceIso: string, by: UsageGrouping | undefined): Promise<UsageTotals[]> {
    const key =
      by === undefined ? sql<string>`''`
      : by === "day" ? sql<string>`substr(created_at, 1, 10)`
      : sql<string>`coalesce(${sql.ref(by)}, '-')`;
    const rows = await this.db
      .selectFrom("requests")
      .where("created_at", ">=", sinceIso)
      .where("model", "is not", null)
      .select([
        key.as("key"),
        sql<number>`count(*)`.as("requests"),
        sql<number>`sum(case when status_code >= 400 or error is not null then 1 else 0 end)`.as("errors"),
        sql<number>`coalesce(sum(input_tokens), 0)`.as("input_tokens"),
        sql<number>`coalesce(sum(output_tokens), 0)`.as("output_tokens"),
        sql<number>`coalesce(sum(cached_tokens), 0)`.as("cached_tokens"),
        sql<number | null>`sum(cost_usd)`.as("cost_usd"),
        sql<number | null>`avg(ttft_ms)`.as("avg_ttft_ms"),
      ])
      .groupBy(sql`1`)
      .orderBy(by === "day" ? sql`1` : sql`count(*)`, by === "day" ? "asc" : "desc")
      .execute();
    return rows.map((r) => ({ ...r, key: String(r.key), avg_ttft_ms: r.avg_ttft_ms === null ? null : Math.round(r.avg_ttft_ms * 10) / 10 }));
  }

  async deleteOlderThan(isoTime: string): Promise<number> {
    const r = await this.db.deleteFrom("requests").where("created_at", "<", isoTime).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
