/**
 * Pull benchmark against the fake Hub on loopback, with a 1 GiB file:
 * 1. throughput of a full `mlxm` pull (PullManager + downloader, in a child process, default settings: 64 MiB
 *    chunks, 4 connections, durable checkpoints, sha256 verified) divided by curl's on the same file from the same
 *    server in the same run (curl to a file on the same disk, and to /dev/null);
 * 2. bytes re-fetched after SIGKILLing a pull at ~50% and resuming it in a new process.
 * Usage: `npx tsx bench/pull-throughput.ts [--size-mib 1024] [--runs 3]`. Temp files go under /tmp and are deleted.
 */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FakeHub, testBytes } from "../test/helpers/fake-hub.js";

const MiB = 1024 * 1024;
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "../test/helpers/pull-child.ts");
const REPO = "bench/Big-GGUF";
const FILE = "big-Q4_K_M.gguf";
const REF = `hf.co/${REPO}:Q4_K_M`;
const CHUNK = 64 * MiB;
const CONCURRENCY = 4;

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const sizeMiB = arg("--size-mib", 1024);
const runs = arg("--runs", 3);

interface ChildResult {
  lines: Record<string, unknown>[];
  stats?: Record<string, number>;
}

/** Run a pull in a child process; `onLine` may return "kill" to SIGKILL it. */
async function pullInChild(
  home: string,
  endpoint: string,
  download: Record<string, unknown>,
  onLine?: (line: Record<string, unknown>) => "kill" | void,
): Promise<ChildResult> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify({ home, endpoint, ref: REF, download })], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((r) => child.once("exit", r));
  const lines: Record<string, unknown>[] = [];
  let stats: Record<string, number> | undefined;
  for await (const text of readline.createInterface({ input: child.stdout })) {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    if (line.error) throw new Error(`pull failed: ${String(line.error)}`);
    if (line.done) stats = line.stats as Record<string, number>;
    if (onLine?.(line) === "kill") {
      child.kill("SIGKILL");
      break;
    }
  }
  await exited;
  return { lines, stats };
}

async function curl(url: string, out: string): Promise<number> {
  const t0 = performance.now();
  await promisify(execFile)("curl", ["-sS", "-f", "-L", "-o", out, url]);
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ")} |`;
  const sep = `|${widths.map((w, c) => (c === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join("\n");
}

const mibps = (bytes: number, ms: number) => `${((bytes / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;

async function main(): Promise<void> {
  const size = sizeMiB * MiB;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-bench-pull-"));
  const hub = await FakeHub.start({ repos: [{ id: REPO, files: [{ path: FILE, content: testBytes(size, 42) }] }] });
  const url = `${hub.url}/${REPO}/resolve/main/${FILE}`;
  try {
    // Warm-up: page cache, TCP, the tsx compile cache.
    await curl(url, "/dev/null");
    const curlFile: number[] = [];
    const curlNull: number[] = [];
    const pullMs: number[] = [];
    const verifyMs: number[] = [];
    const downloadMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const out = path.join(work, "curl.out");
      curlFile.push(await curl(url, out));
      fs.rmSync(out, { force: true });
      curlNull.push(await curl(url, "/dev/null"));
      const home = path.join(work, `home-${r}`);
      const { stats } = await pullInChild(home, hub.url, { chunkSize: CHUNK, concurrency: CONCURRENCY });
      if (!stats) throw new Error("pull did not finish");
      pullMs.push(stats.durationMs);
      verifyMs.push(stats.verifyMs);
      downloadMs.push(stats.downloadMs);
      fs.rmSync(home, { recursive: true, force: true });
    }

    // Kill at ~50%, resume in a new process.
    hub.resetCounters();
    const home = path.join(work, "home-kill");
    let killedAt = 0;
    await pullInChild(home, hub.url, { chunkSize: CHUNK, concurrency: CONCURRENCY }, (line) => {
      const completed = typeof line.completed === "number" ? line.completed : 0;
      if (completed >= size / 2) {
        killedAt = completed;
        return "kill";
      }
    });
    const servedBeforeResume = hub.bytesServed(REPO, FILE);
    const resumed = await pullInChild(home, hub.url, { chunkSize: CHUNK, concurrency: CONCURRENCY });
    const totalServed = hub.bytesServed(REPO, FILE);
    const refetched = totalServed - size;
    fs.rmSync(home, { recursive: true, force: true });

    const pull = median(pullMs);
    const cf = median(curlFile);
    const cn = median(curlNull);
    process.stdout.write(`\nPull throughput, ${sizeMiB} MiB file, loopback fake Hub, median of ${runs} runs (${os.cpus().length} cores)\n\n`);
    process.stdout.write(`${table([
      ["client", "time", "throughput", "pull ÷ client"],
      ["curl -o file (same disk)", `${(cf / 1000).toFixed(2)} s`, mibps(size, cf), (cf / pull).toFixed(2)],
      ["curl -o /dev/null", `${(cn / 1000).toFixed(2)} s`, mibps(size, cn), (cn / pull).toFixed(2)],
      [`mlxm pull (${CHUNK / MiB} MiB x ${CONCURRENCY}, durable, verified)`, `${(pull / 1000).toFixed(2)} s`, mibps(size, pull), "1.00"],
      ["  of which download", `${(median(downloadMs) / 1000).toFixed(2)} s`, "", ""],
      ["  of which verify tail (after last byte)", `${median(verifyMs).toFixed(0)} ms`, "", ""],
    ])}\n\n`);
    process.stdout.write(`all runs (s): curl file ${curlFile.map((x) => (x / 1000).toFixed(2)).join(", ")}; ` +
      `curl null ${curlNull.map((x) => (x / 1000).toFixed(2)).join(", ")}; pull ${pullMs.map((x) => (x / 1000).toFixed(2)).join(", ")}\n\n`);
    process.stdout.write(`${table([
      ["kill -9 at ~50%, then resume", "bytes"],
      ["completed when killed", `${(killedAt / MiB).toFixed(1)} MiB`],
      ["served before the kill", `${(servedBeforeResume / MiB).toFixed(1)} MiB`],
      ["resumed from (on disk, recorded)", `${((resumed.stats?.resumedFrom ?? 0) / MiB).toFixed(1)} MiB`],
      ["re-fetched (served in total - file size)", `${(refetched / MiB).toFixed(1)} MiB`],
      ["goal: at most one chunk", `${CHUNK / MiB} MiB`],
    ])}\n`);
  } finally {
    await hub.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
