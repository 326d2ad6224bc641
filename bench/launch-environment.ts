/**
 * Issue #14: the environment a daemon that mlxm launches itself should get (`daemon start`, autostart, the service
 * unit). node-llama-cpp runs every decode on a libuv pool thread, and so do the pull's file writes, its fdatasyncs
 * and DNS lookups; `UV_THREADPOOL_SIZE` (default 4) sizes that pool and only the launcher can set it. One pool
 * thread keeps consecutive decodes on one OS thread (measured faster in bench/thread-study.ts) but queues a pull's
 * disk work behind decodes, and the reverse. This measures both sides, per pool size, side by side in one run:
 * - generation alone: single-stream decode tokens/s;
 * - a pull alone (from a local Hub stand-in, through the daemon's `/api/pull`);
 * - both at once: the decode rate while the pull runs, and the pull's time;
 * - two models (the bench model and a copy of it, loaded separately) streaming at once: their aggregate tokens/s;
 * - a second model loading while the first streams: the first stream's longest pause between two chunks.
 *
 *   npx tsx bench/launch-environment.ts [--pools default,1,2] [--size-mib 512] [--rounds 2] [--tokens 96]
 *
 * A pool is `size[:VAR=value...]`: a number sets `UV_THREADPOOL_SIZE`, anything else (`default`, `noparking`) leaves
 * libuv's default; the variables go to that daemon, e.g. `noparking:MLXM_POOL_PARKING=false`.
 */
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { FakeHub, testBytes } from "../test/helpers/fake-hub.js";
import { ensureBenchModel } from "./make-model.js";
import { startBenchDaemon, type BenchDaemon } from "./mlxm-daemon.js";
import { rotated } from "./rotation.js";
import { streamSample } from "./stream-sample.js";

const { values } = parseArgs({
  options: {
    pools: { type: "string", default: "default,1,2" },
    "size-mib": { type: "string", default: "512" },
    rounds: { type: "string", default: "2" },
    tokens: { type: "string", default: "96" },
    model: { type: "string", default: "bench60m" },
  },
});
const POOLS = values.pools.split(",");
const SIZE = Number(values["size-mib"]) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
const TOKENS = Number(values.tokens);
const REPO = "bench/Pull-While-Generating";
const FILE = "big-Q4_K_M.gguf";
const PROMPT = "Write a long story about a lighthouse keeper who finds a map.";

interface Row {
  decodeAlone: number[];
  pullAloneMs: number[];
  decodeDuringPull: number[];
  pullDuringDecodeMs: number[];
  twoModels: number[];
  pauseWhileLoadingMs: number[];
}

/** Pulls the big file through the daemon and waits for the stream to end; the file is then deleted again. */
async function pull(daemon: BenchDaemon): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${daemon.url}/api/pull`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: `hf.co/${REPO}:Q4_K_M` }) });
  const text = await res.text(); // NDJSON to the end: the download and its verification are done
  const elapsed = performance.now() - started;
  const last = text.trim().split("\n").at(-1) ?? "";
  // The stand-in serves random bytes, so the pull ends in a GGUF validation error after download and verification.
  if (!/invalid|gguf|success/i.test(last)) throw new Error(`pull ended unexpectedly: ${last}`);
  return elapsed;
}

/** Decode tokens/s of back-to-back generations until `until` settles (at least one generation). */
async function decodeUntil(client: OpenAI, model: string, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => (done = true));
  let tokens = 0;
  let ms = 0;
  do {
    const s = await streamSample(client, model, PROMPT, TOKENS);
    tokens += s.tokens - 1;
    ms += ((s.tokens - 1) / s.tokensPerSecond) * 1000;
  } while (!done);
  return (tokens / ms) * 1000;
}

/** Aggregate tokens/s of one stream on each of the two models, started together. */
async function twoModels(client: OpenAI, models: [string, string]): Promise<number> {
  const started = performance.now();
  const samples = await Promise.all(models.map((m) => streamSample(client, m, PROMPT, TOKENS)));
  return samples.reduce((n, s) => n + s.tokens, 0) / ((performance.now() - started) / 1000);
}

/**
 * The longest pause between two chunks of a stream on `first` while `second` loads: `second` is unloaded first
 * (Ollama's keep_alive 0), then asked for one token once the stream has run for a while.
 */
async function pauseWhileLoading(daemon: BenchDaemon, client: OpenAI, first: string, second: string): Promise<number> {
  await fetch(`${daemon.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: second, keep_alive: 0 }) });
  const stream = await client.chat.completions.create({ model: first, messages: [{ role: "user", content: PROMPT }], max_tokens: 400, temperature: 0, stream: true });
  let chunks = 0;
  let last = 0;
  let longest = 0;
  let loading: Promise<unknown> | undefined;
  for await (const _chunk of stream) {
    const now = performance.now();
    if (loading) longest = Math.max(longest, now - last);
    last = now;
    if (++chunks === 40) loading = client.chat.completions.create({ model: second, messages: [{ role: "user", content: "hi" }], max_tokens: 1 });
  }
  await loading;
  return longest;
}

const model = await ensureBenchModel(values.model, path.join(os.homedir(), ".cache", "mlxm-bench", "models", `${values.model}.gguf`));
// The second model is a copy under another path: node-llama-cpp loads it as a model of its own.
const copyDir = await mkdtemp(path.join(os.tmpdir(), "mlxm-launch-env-"));
const second = { name: `${values.model}-b`, path: path.join(copyDir, "second.gguf") };
await copyFile(model.path, second.path);
const hub = await FakeHub.start({ repos: [{ id: REPO, files: [{ path: FILE, content: testBytes(SIZE, 7) }] }] });
const daemons = new Map<string, { daemon: BenchDaemon; client: OpenAI }>();
const rows = new Map<string, Row>();
try {
  for (const pool of POOLS) {
    const [size, ...vars] = pool.split(":");
    const env: Record<string, string> = { MLXM_THREADS: "1", HF_ENDPOINT: hub.url };
    if (/^\d+$/.test(size!)) env.UV_THREADPOOL_SIZE = size!;
    for (const v of vars) env[v.slice(0, v.indexOf("="))] = v.slice(v.indexOf("=") + 1);
    const daemon = await startBenchDaemon([{ name: values.model, path: model.path }, second], env);
    const client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: "bench", maxRetries: 0 });
    await streamSample(client, values.model, PROMPT, 8); // load the models
    await streamSample(client, second.name, PROMPT, 8);
    daemons.set(pool, { daemon, client });
    rows.set(pool, { decodeAlone: [], pullAloneMs: [], decodeDuringPull: [], pullDuringDecodeMs: [], twoModels: [], pauseWhileLoadingMs: [] });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [pool, { daemon, client }] of rotated([...daemons], round)) {
      const row = rows.get(pool)!;
      const alone = await streamSample(client, values.model, PROMPT, TOKENS);
      row.decodeAlone.push(alone.tokensPerSecond);
      row.pullAloneMs.push(await pull(daemon));
      const pulling = pull(daemon);
      const [rate, ms] = await Promise.all([decodeUntil(client, values.model, pulling), pulling]);
      row.decodeDuringPull.push(rate);
      row.pullDuringDecodeMs.push(ms);
      row.twoModels.push(await twoModels(client, [values.model, second.name]));
      row.pauseWhileLoadingMs.push(await pauseWhileLoading(daemon, client, values.model, second.name));
    }
  }
} finally {
  for (const { daemon } of daemons.values()) await daemon.stop();
  await hub.close();
  await rm(copyDir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = rows.get(POOLS[0]!)!;
console.log(`\n# launch environment: ${values.model}, 1 thread, ${TOKENS}-token generations, ${SIZE / 2 ** 20} MiB pull, median of ${ROUNDS} (${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})\n`);
console.log("| UV_THREADPOOL_SIZE | decode tok/s alone | pull alone (s) | decode tok/s during pull | pull during decode (s) | two models at once, tok/s | longest pause while another model loads (ms) | decode alone ÷ first row |\n|---|---|---|---|---|---|---|---|");
for (const [pool, row] of rows) {
  const cells = [median(row.decodeAlone).toFixed(1), (median(row.pullAloneMs) / 1000).toFixed(2), median(row.decodeDuringPull).toFixed(1),
    (median(row.pullDuringDecodeMs) / 1000).toFixed(2), median(row.twoModels).toFixed(1), median(row.pauseWhileLoadingMs).toFixed(0),
    (median(row.decodeAlone) / median(base.decodeAlone)).toFixed(3)];
  console.log(`| ${pool} | ${cells.join(" | ")} |`);
}
