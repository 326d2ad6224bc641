/**
 * Opens the SQLite database through Kysely: WAL so readers never block the writer, a busy timeout so a second
 * connection (the CLI's tests, a sqlite3 shell) waits instead of failing, and foreign keys on.
 */
import path from "node:path";
import SQLite from "better-sqlite3";
import type { KyselyConfig, KyselyPlugin, MigrationResultSet } from "kysely";
import { Kysely, Migrator, SqliteDialect } from "./kysely-runtime.js";
import { ensurePrivateFile, makePrivateDir, tightenMode, PRIVATE_FILE_MODE } from "../../home/home-dir.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { Database } from "./schema.js";
import { withStatementCache } from "./statement-cache.js";

export type Db = Kysely<Database>;

const dataVersions = new WeakMap<Db, () => number>();

/**
 * SQLite's `PRAGMA data_version` of `db`'s connection, read without a query span: it changes whenever another
 * connection (the CLI, a test, a sqlite3 shell) commits, never for this connection's own commits. Undefined for a
 * Kysely not made by openDatabase.
 */
export function dataVersionOf(db: Db): (() => number) | undefined {
  return dataVersions.get(db);
}

export interface OpenDatabaseOptions {
  /** File path, or ":memory:" for tests. */
  file: string;
  busyTimeoutMs?: number;
  /** Query instrumentation (tracing) and the like. */
  plugins?: KyselyPlugin[];
  log?: KyselyConfig["log"];
}

export function openDatabase(options: OpenDatabaseOptions): Db {
  if (options.file !== ":memory:") {
    // The database holds usage, spans (prompts, with MLXM_TRACE_CONTENT) and sealed keys: 0600, like the key file.
    // SQLite would create it 0644, and its -wal and -shm take the database's mode, so it is made here first.
    makePrivateDir(path.dirname(options.file));
    ensurePrivateFile(options.file);
    for (const suffix of ["-wal", "-shm"]) tightenMode(`${options.file}${suffix}`, PRIVATE_FILE_MODE);
  }
  const sqlite = new SQLite(options.file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  sqlite.pragma("foreign_keys = ON");
  // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the last commit.
  sqlite.pragma("synchronous = NORMAL");
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
    plugins: options.plugins,
    log: options.log,
  });
  const version = sqlite.prepare("PRAGMA data_version").pluck();
  dataVersions.set(db, () => version.get() as number);
  return db;
}

/** Run every pending migration; each is recorded in `kysely_migration` with its time. Throws on failure. */
export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error");
    const cause = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`database migration ${failed?.migrationName ?? ""} failed: ${cause}`, { cause: result.error });
  }
  return result;
}

export function now(): string {
  return new Date().toISOString();
}
