/** The `pulls` table: every pull's durable state, so an interrupted pull resumes after a restart. */
import type { Selectable } from "kysely";
import { now, type Db } from "../database.js";
import type { PullsTable } from "../schema.js";

export type PullRow = Selectable<PullsTable>;
export type PullStatus = "queued" | "running" | "verifying" | "completed" | "failed" | "cancelled";
export const UNFINISHED_PULL_STATUSES: PullStatus[] = ["queued", "running", "verifying"];

export class PullsRepo {
  constructor(private readonly db: Db) {}

  async create(ref: string): Promise<PullRow> {
    const ts = now();
    return this.db
      .insertInto("pulls")
      .values({ ref, status: "queued", created_at: ts, updated_at: ts })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  get(id: number) {
    return this.db.selectFrom("pulls").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** The newest pull of `ref` that has not finished, if any. */
  findUnfinished(ref: string) {
    return this.db
      .selectFrom("pulls")
      .selectAll()
      .where("ref", "=", ref)
      .where("status", "in", UNFINISHED_PULL_STATUSES)
      .orderBy("id", "desc")
      .executeTakeFirst();
  }

  /** The newest pull of `ref`, whatever its state. */
  findLatest(ref: string) {
    return this.db.selectFrom("pulls").selectAll().where("ref", "=", ref).orderBy("id", "desc").executeTakeFirst();
  }

  listUnfinished() {
    return this.db.selectFrom("pulls").selectAll().where("status", "in", UNFINISHED_PULL_STATUSES).orderBy("id").execute();
  }

  list(limit = 50) {
    return this.db.selectFrom("pulls").selectAll().orderBy("id", "desc").limit(limit).execute();
  }

  async update(
    id: number,
    patch: Partial<Pick<PullRow, "status" | "total_bytes" | "completed_bytes" | "plan_json" | "error">>,
  ): Promise<void> {
    await this.db.updateTable("pulls").set({ ...patch, updated_at: now() }).where("id", "=", id).execute();
  }
}
