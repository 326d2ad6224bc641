/**
 * CLI start-up with tracing on vs off (goal: on ≤ 1.2 × off), for `mlxm --version` and `mlxm ls` against a
 * running daemon. Runs alternate on/off so both see the same machine noise; medians over N runs.
 *
 *   npx tsx bench/cli-startup.ts [--runs 21]
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

const RUN_JS = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 21;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-bench-"));
const port = await freePort();
const baseEnv: NodeJS.ProcessEnv = { ...process.env, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${port}` };
delete baseEnv.LOGFIRE_TOKEN;
delete baseEnv.OTEL_EXPORTER_OTLP_ENDPOINT;

function time(args: string[], trace: boolean): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [RUN_JS, ...args], { env: { ...baseEnv, MLXM_TRACE: String(trace) }, stdio: "ignore" });
  if (r.status !== 0) throw new Error(`mlxm ${args.join(" ")} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

spawnSync(process.execPath, [RUN_JS, "daemon", "start"], { env: baseEnv, stdio: "inherit" });
try {
  const rows: string[] = [];
  for (const args of [["--version"], ["ls"]]) {
    time(args, true); // warm the file cache
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        off.push(time(args, false));
        on.push(time(args, true));
      } else {
        on.push(time(args, true));
        off.push(time(args, false));
      }
    }
    const ratio = median(on) / median(off);
    rows.push(`| \`mlxm ${args.join(" ")}\` | ${median(off).toFixed(0)} ms | ${median(on).toFixed(0)} ms | ${ratio.toFixed(3)} | ${ratio <= 1.2 ? "yes" : "NO"} |`);
  }
  console.log(`\nCLI start-up, median of ${runs} alternating runs (${os.cpus().length} cores, node ${process.version})\n`);
  console.log("| command | tracing off | tracing on | on ÷ off | ≤ 1.2 |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  spawnSync(process.execPath, [RUN_JS, "daemon", "stop"], { env: baseEnv, stdio: "ignore" });
  fs.rmSync(home, { recursive: true, force: true });
}
