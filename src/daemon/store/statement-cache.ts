/**
 * The SQLite handle Kysely's dialect is given, with prepared statements reused by their SQL text. Kysely prepares
 * every query it runs, and preparing costs about as much as running a small statement; the daemon runs the same few
 * dozen statements again and again (the usage row, model lookups, span batches), so each is prepared once.
 * Safe because Kysely runs one query at a time on SQLite's single connection, and SQLite re-prepares a statement
 * by itself when a migration changes the schema under it. Bounded: the least recently used statement is dropped.
 */
import type { Database as SqliteHandle, Statement } from "better-sqlite3";
import type { SqliteDatabase } from "kysely";

export const STATEMENT_CACHE_SIZE = 200;

export function withStatementCache(db: SqliteHandle, max = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, Statement>();
  return {
    close: () => {
      statements.clear();
      db.close();
    },
    prepare: (sql) => {
      let statement = statements.get(sql);
      if (statement) {
        // Map order is insertion order: re-inserting marks it most recently used.
        statements.delete(sql);
      } else {
        statement = db.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
