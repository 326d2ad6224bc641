/**
 * What one idle `mlxm serve` costs before it answers `/api/health` with 200 (ready): wall time from spawn, and the
 * process's CPU time (user + system, all its threads, from /proc/<pid>/stat) at that moment and 3 s later, when
 * the background work of start-up (getLlama) has had its time too. Linux only.
 *
 * Give one or more built checkouts (directories holding bin/run.js) to compare them side by side: runs alternate
 * between them so each sees the same machine noise, and only ratios within one run mean anything.
 *
 *   npx tsx bench/daemon-start.ts [--runs 5] [checkout ...]     (default: this checkout)
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 5;
const checkouts = args.length ? args.map((a) => path.resolve(a)) : [fileURLToPath(new URL("..", import.meta.url))];
const TICK_MS = 10; // USER_HZ is 100 on Linux

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** utime + stime + cutime + cstime of `pid`, in ms. */
function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command name start at field 3 (state): utime is field 14, so index 11 here.
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) * TICK_MS;
}

interface Sample {
  readyMs: number;
  cpuAtReadyMs: number;
  cpuSettledMs: number;
}

async function once(checkout: string): Promise<Sample> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-bench-start-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${port}` };
  for (const k of ["LOGFIRE_TOKEN", "OTEL_EXPORTER_OTLP_ENDPOINT"]) delete env[k];
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(checkout, "bin", "run.js"), "serve"], { env, stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", r));
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (child.exitCode !== null) throw new Error(`${checkout}: serve exited ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = performance.now() - started;
    const cpuAtReadyMs = cpuMs(child.pid!);
    await new Promise((r) => setTimeout(r, 3000));
    return { readyMs, cpuAtReadyMs, cpuSettledMs: cpuMs(child.pid!) };
  } finally {
    child.kill("SIGTERM");
    await exited;
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples = new Map<string, Sample[]>(checkouts.map((c) => [c, []]));
for (let i = 0; i < runs; i++) {
  // Alternate the order too, so neither checkout always runs right after the other.
  for (const c of i % 2 ? [...checkouts].reverse() : checkouts) samples.get(c)!.push(await once(c));
}

console.log(`\nidle \`mlxm serve\` start, median of ${runs} (${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}, node ${process.version})\n`);
console.log("| checkout | wall to ready | CPU at ready | CPU ready + 3 s |");
console.log("|---|---|---|---|");
for (const [c, s] of samples) {
  const f = (k: keyof Sample) => `${(median(s.map((x) => x[k])) / 1000).toFixed(2)} s`;
  console.log(`| ${c} | ${f("readyMs")} | ${f("cpuAtReadyMs")} | ${f("cpuSettledMs")} |`);
}
