import { expect } from "chai";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { withStatementCache } from "../../src/daemon/store/statement-cache.js";

describe("statement cache", () => {
  it("prepares a statement once and reuses it for the same SQL", () => {
    const raw = new SQLite(":memory:");
    let prepared = 0;
    const prepare = raw.prepare.bind(raw);
    raw.prepare = ((text: string) => (prepared++, prepare(text))) as typeof raw.prepare;
    const db = withStatementCache(raw);
    const a = db.prepare("select 1 as x");
    const b = db.prepare("select 1 as x");
    expect(a).to.equal(b);
    expect(prepared).to.equal(1);
    expect(db.prepare("select 2 as x").all([])).to.deep.equal([{ x: 2 }]);
    expect(prepared).to.equal(2);
    db.close();
  });

  it("drops the least recently used statement beyond its bound", () => {
    const db = withStatementCache(new SQLite(":memory:"), 2);
    const one = db.prepare("select 1");
    db.prepare("select 2");
    db.prepare("select 1"); // now "select 2" is the least recently used
    db.prepare("select 3");
    expect(db.prepare("select 1")).to.equal(one);
    const two = db.prepare("select 2");
    expect(db.prepare("select 2")).to.equal(two);
    db.close();
  });

  it("sees schema changes made after a statement was cached (through Kysely, as the store uses it)", async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(new SQLite(":memory:")) }) });
    await sql`create table t (a integer)`.execute(db);
    await db.insertInto("t").values({ a: 1 }).execute();
    expect(await db.selectFrom("t").selectAll().execute()).to.deep.equal([{ a: 1 }]);
    await sql`alter table t add column b text default 'x'`.execute(db);
    await db.insertInto("t").values({ a: 2 }).execute();
    expect(await db.selectFrom("t").selectAll().execute()).to.deep.equal([
      { a: 1, b: "x" },
      { a: 2, b: "x" },
    ]);
    await db.destroy();
  });
});
