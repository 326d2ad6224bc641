/**
 * A pull in a child process, so tests and benchmarks can SIGKILL it mid-download and check what a restart
 * re-fetches. Usage: `node --import tsx test/helpers/pull-child.ts '<json PullChildArgs>'`. Prints one NDJSON
 * progress line per event on stdout and `{"done":true,"stats":…,"cpu_ms":…}` at the end (CPU time of all threads
 * during the pull, start-up excluded); exits 1 after an `{"error":…}` line.
 */
import path from "node:path";
import { pino } from "pino";
import { HubClient } from "../../src/daemon/hub/hf-client.js";
import { PullManager } from "../../src/daemon/hub/pull/pull-manager.js";
import type { BlobDownloadDefaults } from "../../src/daemon/hub/download/blob-store.js";
import { migrateToLatest, openDatabase } from "../../src/daemon/store/database.js";
import { ModelsRepo } from "../../src/daemon/store/repos/models-repo.js";
import { PullsRepo } from "../../src/daemon/store/repos/pulls-repo.js";

/** What the parent passes. */
export interface PullChildArgs {
  home: string;
  endpoint: string;
  token?: string;
  ref: string;
  download?: BlobDownloadDefaults;
}

const args = JSON.parse(process.argv[2] ?? "{}") as PullChildArgs;
const db = openDatabase({ file: path.join(args.home, "mlxm.db") });
await migrateToLatest(db);
const manager = new PullManager({
  pulls: new PullsRepo(db),
  models: new ModelsRepo(db),
  home: args.home,
  hub: new HubClient({ endpoint: args.endpoint, token: args.token }),
  logger: pino({ level: "silent" }),
  download: args.download,
});
const cpu0 = process.cpuUsage();
const handle = manager.pull(args.ref);
try {
  for await (const p of handle) process.stdout.write(`${JSON.stringify(p)}\n`);
  const summary = await handle.result;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`${JSON.stringify({ done: true, stats: summary.stats, cpu_ms: { user: cpu.user / 1000, system: cpu.system / 1000 } })}\n`);
  await db.destroy();
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
  process.exitCode = 1;
}
