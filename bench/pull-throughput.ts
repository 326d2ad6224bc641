/**
 * Pull benchmark against the fake Hub on loopback, with a 1 GiB file:
 * 1. throughput of a full pull (PullManager + downloader in a child process: 64 MiB chunks, up to 4 connections,
 *    sha256 verified) divided by curl's on the same file from the same server in the same run (curl to a file on
 *    the same disk, curl to /dev/null, curl to a file followed by `sha256sum`, the verified equivalent, and by
 *    `sync --data`, the on-disk equivalent, which a durable pull's blob is before it becomes visible), with
 *    the default durable progress records and without them, and durable through the page cache (no O_DIRECT);
 *    and, beside them, the disk's floor for a durable copy: the same bytes written and fdatasync'ed with no network and
 *    no hash (bench/disk-floor.ts), past the page cache and through it, the least a durable pull can take on this disk;
 *    and the sha256 of the same bytes from memory, alone (node:crypto, one thread): the verification a pull adds;
 * 2. bytes re-fetched after SIGKILLing a pull at ~50% and resuming it in a new process, once per run (median, min, max).
 * Runs are interleaved (curl, pull, pull non-durable, ...), in an order that turns from run to run, and the median
 * is reported, because other work on the machine moves single runs a lot. CPU time is reported too: the server
 * shares the machine's cores.
 * Usage: `npx tsx bench/pull-throughput.ts [--size-mib 1024] [--runs 3] [--cpu-prof dir] [--dir DIR]`. Files go under
 * DIR (default: the temp dir), curl's, the floor's and the pulls' alike, and are deleted: `--dir` measures another
 * disk or file system (one whose flush costs nothing, such as ext4 on a loop device backed by tmpfs, shows what the
 * pull costs apart from the disk; as root: `truncate -s 6G /dev/shm/d.img && mkfs.ext4 -q -F /dev/shm/d.img &&
 * mkdir -p /mnt/d && mount -o loop /dev/shm/d.img /mnt/d`, then `--dir /mnt/d`).
 */
import { execFile, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { FakeHub, testBytes } from "../test/helpers/fake-hub.js";
import { diskFloor, type DiskFloorRun } from "./disk-floor.js";

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
/** `--cpu-prof DIR`: each pull child writes a V8 CPU profile there (open in Chrome DevTools or speedscope). */
const cpuProfDir = args.includes("--cpu-prof") ? args[args.indexOf("--cpu-prof") + 1] : undefined;
const profileFlags = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
const workDir = args.includes("--dir") ? args[args.indexOf("--dir") + 1]! : os.tmpdir();

interface PullRun {
  stats: Record<string, number>;
  cpuMs: number;
}

/** Run a pull in a child process; `onLine` may return "kill" to SIGKILL it. */
async function pullInChild(
  home: string,
  endpoint: string,
  download: Record<string, unknown>,
  onLine?: (line: Record<string, unknown>) => "kill" | void,
): Promise<PullRun | undefined> {
  const child = spawn(process.execPath, [...profileFlags, "--import", "tsx", CHILD, JSON.stringify({ home, endpoint, ref: REF, download })], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((r) => child.once("exit", r));
  let result: PullRun | undefined;
  for await (const text of readline.createInterface({ input: child.stdout })) {
    const line = JSON.parse(text) as Record<string, unknown>;
    if (line.error) throw new Error(`pull failed: ${String(line.error)}`);
    if (line.done) {
      const cpu = line.cpu_ms as { user: number; system: number };
      result = { stats: line.stats as Record<string, number>, cpuMs: cpu.user + cpu.system };
    }
    if (onLine?.(line) === "kill") {
      child.kill("SIGKILL");
      break;
    }
  }
  await exited;
  return result;
}

/** curl's wall time and CPU time (from /usr/bin/time when present). */
async function curl(url: string, out: string): Promise<{ ms: number; cpuMs?: number }> {
  const haveTime = fs.existsSync("/usr/bin/time");
  const t0 = performance.now();
  const { stderr } = haveTime
    ? await promisify(execFile)("/usr/bin/time", ["-f", "cpu %U %S", "curl", "-sS", "-f", "-L", "-o", out, url])
    : await promisify(execFile)("curl", ["-sS", "-f", "-L", "-o", out, url]);
  const ms = performance.now() - t0;
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(stderr);
  return { ms, cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined };
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

const mibps = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<void> {
  const size = sizeMiB * MiB;
  const work = fs.mkdtempSync(path.join(workDir, "mlxm-bench-pull-"));
  const content = testBytes(size, 42);
  const hub = await FakeHub.start({ repos: [{ id: REPO, files: [{ path: FILE, content }] }] });
  const url = `${hub.url}/${REPO}/resolve/main/${FILE}`;
  const tuning = { chunkSize: CHUNK, concurrency: CONCURRENCY };
  try {
    await curl(url, "/dev/null"); // warm-up: page cache, TCP
    const curlFile: { ms: number; cpuMs?: number }[] = [];
    const curlSha: number[] = [];
    const curlSynced: number[] = [];
    const curlNull: { ms: number; cpuMs?: number }[] = [];
    const durable: PullRun[] = [];
    const light: PullRun[] = [];
    const buffered: PullRun[] = [];
    const floorDirect: DiskFloorRun[] = [];
    const floorCached: DiskFloorRun[] = [];
    const hashMs: number[] = [];
    const curlSide = async () => {
      const out = path.join(work, "curl.out");
      const c = await curl(url, out);
      curlFile.push(c);
      // What curl's file costs on disk (fdatasync, as a durable pull's blob): curl's way of keeping it through a power
      // loss. The disk floor below is the cheapest way.
      const s0 = performance.now();
      await promisify(execFile)("sync", ["--data", out]);
      curlSynced.push(c.ms + performance.now() - s0);
      fs.rmSync(out, { force: true });
      curlNull.push(await curl(url, "/dev/null"));
    };
    const pullSide = (list: PullRun[], extra: Record<string, unknown>, r: number) => async () => {
      const home = path.join(work, `home-${r}`);
      const run = await pullInChild(home, hub.url, { ...tuning, ...extra });
      if (!run) throw new Error("pull did not finish");
      list.push(run);
      fs.rmSync(home, { recursive: true, force: true });
    };
    // In this process, while the server is idle: the writes copy from the served bytes, as a pull copies from its socket.
    const floorSide = async () => {
      const out = path.join(work, "floor.out");
      floorDirect.push(await diskFloor(out, content, { direct: true }));
      floorCached.push(await diskFloor(out, content, { direct: false }));
      fs.rmSync(out, { force: true });
      const t0 = performance.now();
      crypto.createHash("sha256").update(content).digest();
      hashMs.push(performance.now() - t0);
    };
    for (let r = 0; r < runs; r++) {
      // The order turns from run to run: a write's speed on a virtual disk depends on what was written and deleted
      // just before (measured with dd: 1 GiB + fdatasync in 0.6 s right after another file was written and deleted,
      // 2.5 s after 8 s idle), so no side may always come first.
      const sides = [curlSide, pullSide(durable, {}, r), pullSide(light, { durable: false }, r), pullSide(buffered, { directIo: false }, r), floorSide];
      for (let i = 0; i < sides.length; i++) await sides[(i + r) % sides.length]!();
    }
    // sha256sum apart, after the interleaved runs: it keeps a core busy for seconds, and on this machine whatever
    // ran right after it was slower (a pull following it took 3.9-4.7 s, the same pull following another 2.0-2.6 s).
    const shaFile = path.join(work, "curl.out");
    await curl(url, shaFile);
    const shaMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      await promisify(execFile)("sha256sum", [shaFile]);
      shaMs.push(performance.now() - t0);
    }
    fs.rmSync(shaFile, { force: true });
    curlSha.push(...curlFile.map((c, i) => c.ms + shaMs[i]!));

    // Kill at ~50%, resume in a new process; once per run, because one kill says little: what a kill loses is what
    // was in flight at that instant (kernel socket buffers, unwritten batches, written bytes not yet recorded), and
    // how far the pull ran on before the kill landed.
    const kills: { killedAt: number; servedAtKill: number; served: number; resumedFrom: number; refetched: number }[] = [];
    for (let r = 0; r < runs; r++) {
      hub.resetCounters();
      const home = path.join(work, `home-kill-${r}`);
      let killedAt = 0;
      let servedAtKill = 0;
      await pullInChild(home, hub.url, tuning, (line) => {
        const completed = typeof line.completed === "number" ? line.completed : 0;
        if (completed >= size / 2) {
          killedAt = completed;
          // Read in the same turn as the kill: the server (this process) sends nothing in between.
          servedAtKill = hub.bytesServed(REPO, FILE);
          return "kill";
        }
      });
      const served = hub.bytesServed(REPO, FILE);
      const resumed = await pullInChild(home, hub.url, tuning);
      const resumedFrom = resumed?.stats.resumedFrom ?? 0;
      kills.push({ killedAt, servedAtKill, served, resumedFrom, refetched: hub.bytesServed(REPO, FILE) - size });
      fs.rmSync(home, { recursive: true, force: true });
    }

    const cf = median(curlFile.map((c) => c.ms));
    const cn = median(curlNull.map((c) => c.ms));
    const cfCpu = curlFile.every((c) => c.cpuMs !== undefined) ? median(curlFile.map((c) => c.cpuMs!)) : undefined;
    const rows: string[][] = [
      ["client", "time", "throughput", "÷ curl -o file", "CPU"],
      ["curl -o file (same disk)", secs(cf), mibps(size, cf), "1.00", cfCpu !== undefined ? secs(cfCpu) : "?"],
      ["curl -o /dev/null", secs(cn), mibps(size, cn), (cf / cn).toFixed(2), "-"],
      ["curl -o file, then sha256sum (verified)", secs(median(curlSha)), mibps(size, median(curlSha)), (cf / median(curlSha)).toFixed(2), "-"],
      ["curl -o file, then sync --data (on disk)", secs(median(curlSynced)), mibps(size, median(curlSynced)), (cf / median(curlSynced)).toFixed(2), "-"],
    ];
    // The disk's floor for a durable copy: its ratio is the best a durable pull could reach on this disk in this run.
    for (const [label, list] of [["past the page cache (O_DIRECT)", floorDirect], ["through the page cache", floorCached]] as const) {
      const total = median(list.map((f) => f.totalMs));
      rows.push([`disk floor, no network or hash: written ${label}, then fdatasync`, secs(total), mibps(size, total), (cf / total).toFixed(2), "-"]);
      rows.push([`  of which the fdatasync`, secs(median(list.map((f) => f.flushMs))), "", "", ""]);
    }
    // What verifying costs the CPU, which the server, the receiving thread and the disk's interrupts share.
    const hash = median(hashMs);
    rows.push(["sha256 of the same bytes from memory, alone (node:crypto, one thread)", secs(hash), mibps(size, hash), (cf / hash).toFixed(2), secs(hash)]);
    const pulls = [["durable (default)", durable], ["durable: false", light], ["durable, through the page cache (directIo: false)", buffered]] as const;
    for (const [label, list] of pulls) {
      const total = median(list.map((r) => r.stats.durationMs));
      const dv = median(list.map((r) => r.stats.downloadMs + r.stats.verifyMs));
      const verify = median(list.map((r) => r.stats.verifyMs));
      const cpu = median(list.map((r) => r.cpuMs));
      rows.push([`mlxm pull, ${label}: end to end`, secs(total), mibps(size, total), (cf / total).toFixed(2), secs(cpu)]);
      rows.push([`  ÷ curl + sha256sum`, "", "", (median(curlSha) / total).toFixed(2), ""]);
      rows.push([`  ÷ curl + sync --data`, "", "", (median(curlSynced) / total).toFixed(2), ""]);
      rows.push([`  download + verify`, secs(dv), mibps(size, dv), (cf / dv).toFixed(2), ""]);
      rows.push([`  verify tail after the last byte`, `${verify.toFixed(0)} ms`, "", "", ""]);
      const inMemory = median(list.map((r) => r.stats.hashedInMemory ?? 0));
      rows.push([`  hashed from memory (rest read back)`, `${((100 * inMemory) / size).toFixed(0)} %`, "", "", ""]);
      const direct = median(list.map((r) => r.stats.writtenDirect ?? 0));
      rows.push([`  written past the page cache (O_DIRECT)`, `${((100 * direct) / size).toFixed(0)} %`, "", "", ""]);
      const readDirect = median(list.map((r) => r.stats.readBackDirect ?? 0));
      rows.push([`  read back past the page cache (O_DIRECT)`, `${((100 * readDirect) / size).toFixed(0)} %`, "", "", ""]);
      const connections = list.map((r) => r.stats.connections ?? 0);
      rows.push([`  connections at once, most (of ${CONCURRENCY})`, `${Math.min(...connections)}-${Math.max(...connections)}`, "", "", ""]);
    }
    process.stdout.write(
      `\nPull throughput: ${sizeMiB} MiB file, loopback fake Hub, ${CHUNK / MiB} MiB chunks, up to ${CONCURRENCY} connections, ` +
        `median of ${runs} interleaved runs, ${os.cpus().length} CPUs (server, client and hasher share them), files in ${workDir}\n\n`,
    );
    process.stdout.write(`${table(rows)}\n\n`);
    const list = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(", ");
    process.stdout.write(
      `all runs (s): curl file ${list(curlFile.map((c) => c.ms))}; curl+sha256sum ${list(curlSha)}; curl+sync ${list(curlSynced)}; ` +
        `curl null ${list(curlNull.map((c) => c.ms))}; ` +
        `pull ${list(durable.map((r) => r.stats.durationMs))}; pull non-durable ${list(light.map((r) => r.stats.durationMs))}; ` +
        `pull through the page cache ${list(buffered.map((r) => r.stats.durationMs))}; ` +
        `disk floor O_DIRECT ${list(floorDirect.map((f) => f.totalMs))}; disk floor page cache ${list(floorCached.map((f) => f.totalMs))}; ` +
        `sha256 ${list(hashMs)}\n\n`,
    );
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    const spread = (pick: (k: (typeof kills)[number]) => number) => {
      const xs = kills.map(pick);
      return [mib(median(xs)), mib(Math.min(...xs)), mib(Math.max(...xs))];
    };
    process.stdout.write(`${table([
      [`kill -9 at ~50%, then resume (${runs} kills)`, "median", "min", "max"],
      ["completed when killed (last progress line)", ...spread((k) => k.killedAt)],
      ["served when the kill was sent", ...spread((k) => k.servedAtKill)],
      ["served before the resume", ...spread((k) => k.served)],
      ["resumed from (recorded on disk)", ...spread((k) => k.resumedFrom)],
      ["in flight at the kill (served then - recorded)", ...spread((k) => k.servedAtKill - k.resumedFrom)],
      ["re-fetched (served in total - file size)", ...spread((k) => k.refetched)],
      ["goal: at most one chunk", mib(CHUNK), "", ""],
    ])}\n`);
    process.stdout.write(`re-fetched per kill (MiB): ${kills.map((k) => (k.refetched / MiB).toFixed(0)).join(", ")}\n`);
  } finally {
    await hub.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
