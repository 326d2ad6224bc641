/**
 * Kysely's runtime values, from its CommonJS build. The daemon registers an ES-module loader hook for tracing
 * (observability/daemon-setup.ts), and every ES module imported after it costs a round trip to the hook's thread:
 * Kysely's ES build is about 280 modules, which made it a third of a second of every daemon start (0.47 s through
 * the hook against 0.13 s from its CommonJS build, measured here). `require` bypasses the hook, and nothing hooks
 * Kysely. Every Kysely value in src/ comes from here, so one copy of its classes is in use; types still come from
 * `kysely` itself with `import type`.
 */
import { createRequire } from "node:module";

const kysely = createRequire(import.meta.url)("kysely") as typeof import("kysely");

export const { Kysely, Migrator, SqliteDialect, sql } = kysely;
export type Kysely<DB> = import("kysely").Kysely<DB>;
