/** The `routes` table: which model names go to which upstream, and how. */
import type { Insertable, Selectable } from "kysely";
import { now, type Db } from "../database.js";
import type { RoutesTable } from "../schema.js";

export type RouteRow = Selectable<RoutesTable>;
export type NewRoute = Omit<Insertable<RoutesTable>, "id" | "created_at">;

export class RoutesRepo {
  constructor(private readonly db: Db) {}

  list(): Promise<RouteRow[]> {
    return this.db.selectFrom("routes").selectAll().orderBy("priority", "desc").orderBy("pattern").execute();
  }

  find(pattern: string): Promise<RouteRow | undefined> {
    return this.db.selectFrom("routes").selectAll().where("pattern", "=", pattern).executeTakeFirst();
  }

  add(route: NewRoute): Promise<RouteRow> {
    return this.db
      .insertInto("routes")
      .values({ ...route, created_at: now() })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Insert, or replace every field of the route with the same pattern (keeping its id). */
  upsert(route: NewRoute): Promise<RouteRow> {
    const { pattern: _pattern, ...fields } = route;
    return this.db
      .insertInto("routes")
      .values({ ...route, created_at: now() })
      .onConflict((oc) => oc.column("pattern").doUpdateSet(fields))
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async remove(pattern: string): Promise<boolean> {
    const r = await this.db.deleteFrom("routes").where("pattern", "=", pattern).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
