/** The `requests` table: one row per API request, linked to its trace; `summarise` feeds `mlxm usage`. */
import type { Insertable, Selectable } from "kysely";
import { sql } from "../kysely-runtime.js";
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
  cache_creation_tokens: number;
  cost_usd: number | null;
  avg_ttft_ms: number | null;
}

/** How long a usage row may wait to be written with the ones after it. */
export const REQUEST_ROWS_FLUSH_MS = 100;
/** Rows per INSERT: 17 columns each stays far under SQLite's bound-parameter limit. */
const ROWS_PER_STATEMENT = 50;

/**
 * Rows are written in batches: a commit costs far more than the row it carries (measured ~0.8 ms per single-row
 * commit under a routed request's load, most of it WAL bookkeeping), and a busy daemon writes one per request. A row
 * waits at most REQUEST_ROWS_FLUSH_MS; every read and `close()` writes what is waiting first, so readers never miss
 * one. A crash (not a stop) can lose the rows of the last REQUEST_ROWS_FLUSH_MS.
 */
export class RequestsRepo {
  #pending: Insertable<RequestsTable>[] = [];
  /** Settles when the queued rows are written (undefined: nothing queued). */
  #written: Promise<void> | undefined;
  /** The batch being written now, which a reader must wait for too. */
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  /** Queue a row; resolves once it is in the database. */
  insert(row: Insertable<RequestsTable>): Promise<void> {
    this.#pending.push(row);
    this.#written ??= new Promise<void>((resolve) => setTimeout(resolve, REQUEST_ROWS_FLUSH_MS).unref()).then(() => this.#writePending());
    return this.#written;
  }

  /** Write every queued row now (and wait for a batch already being written). */
  async flush(): Promise<void> {
    if (this.#pending.length > 0) await this.#writePending();
    else await this.#writing.catch(() => {});
  }

  #writePending(): Promise<void> {
    const rows = this.#pending;
    this.#pending = [];
    this.#written = undefined;
    if (rows.length === 0) return this.#writing;
    const write = this.#writing
      .catch(() => {})
      .then(() =>
        this.db.transaction().execute(async (trx) => {
          for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
            await trx.insertInto("requests").values(rows.slice(i, i + ROWS_PER_STATEMENT)).onConflict((oc) => oc.column("id").doNothing()).execute();
          }
        }),
      );
    this.#writing = write;
    return write;
  }

  async recent(limit = 50): Promise<RequestRow[]> {
    await this.flush();
    return this.db.selectFrom("requests").selectAll().orderBy("created_at", "desc").limit(limit).execute();
  }

  /** Totals per model, backend, API or UTC day since `sinceIso`, largest first; `key` "" is the grand total. */
  async summarise(sinceIso: string, by: UsageGrouping | undefined): Promise<UsageTotals[]> {
    await this.flush();
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
        sql<number>`coalesce(sum(cache_creation_tokens), 0)`.as("cache_creation_tokens"),
        sql<number | null>`sum(cost_usd)`.as("cost_usd"),
        sql<number | null>`avg(ttft_ms)`.as("avg_ttft_ms"),
      ])
      .groupBy(sql`1`)
      .orderBy(by === "day" ? sql`1` : sql`count(*)`, by === "day" ? "asc" : "desc")
      .execute();
    return rows.map((r) => ({ ...r, key: String(r.key), avg_ttft_ms: r.avg_ttft_ms === null ? null : Math.round(r.avg_ttft_ms * 10) / 10 }));
  }

  async deleteOlderThan(isoTime: string): Promise<number> {
    await this.flush();
    const r = await this.db.deleteFrom("requests").where("created_at", "<", isoTime).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
