/**
 * Numbered migrations, listed statically so the built package needs no directory scanning.
 * Add a new file `NNNN_name.ts` and one line here; never edit a migration that has shipped.
 */
import type { Migration } from "kysely";
import * as m0001 from "./0001_initial.js";
import * as m0002 from "./0002_routing.js";
import * as m0004 from "./0004_library.js";
import * as m0005 from "./0005_cache_creation_tokens.js";

export const MIGRATIONS: Record<string, Migration> = {
  "0001_initial": m0001,
  "0002_routing": m0002,
  "0004_library": m0004,
  "0005_cache_creation_tokens": m0005,
};
