/** The `routes` table: which model names go to which cloud provider. */
import type { Insertable, Selectable } from "kysely";
import { now, type Db } from "../database.js";
import type { RoutesTable } from "../schema.js";

export type RouteRow = Selectable<RoutesTable>;
export type NewRoute = Omit<Insertable<RoutesTable>, "id" | "created_at">;

export class RoutesRepo {
  constructor(private readonly db: Db) {}

  list(): Promise<RouteRow[]> {
    return this.db.selectFrom("routes").selectAll().orderBy("pattern").execute();
  }

  add(route: NewRoute): Promise<RouteRow> {
    return this.db
      .insertInto("routes")
      .values({ ...route, created_at: now() })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async remove(pattern: string): Promise<boolean> {
    const r = await this.db.deleteFrom("routes").where("pattern", "=", pattern).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
