/**
 * Issue #4's benchmark: the mlxm daemon against raw node-llama-cpp in-process and llama.cpp's own llama-server,
 * same model, same threads, same sampling (greedy), same prompt and token count, measured in ONE run with the
 * systems taking turns round by round, in an order that rotates each round (the machine is shared; only side-by-side
 * ratios mean anything).
 *
 *   npx tsx bench/inference.ts [--models bench60m,tiny] [--threads 1] [--threads-batch 2] [--tokens 128] [--rounds 3] [--streams 1,2,4,8]
 *                              [--mlxm mlxm,uv1:UV_THREADPOOL_SIZE=1,old@/tmp/old/bin/run.js]
 *                              [--tables single,conversation,paired] [--pairs 40] [--turns 10] [--system-tokens 1500]
 *                              [--no-llama-server]
 *
 * Tables: `single` (single stream and 1-8 streams, issue #4) and `conversation` (issue #14: two 10-turn chats behind a
 * 1,500-token system prompt taking turns with unrelated requests between; TTFT per turn for mlxm with prompt-prefix
 * reuse, mlxm with MLXM_PREFIX_REUSE=false and llama-server with `cache_prompt`; see bench/conversation.ts), and
 * `paired` (single stream against llama-server in alternating pairs: the per-pair ratio's median, its 95 % bootstrap
 * interval, the win count and its sign test; bench/paired-stats.ts says why).
 *
 * `--mlxm` lists daemon variants measured side by side in the same rounds: `label[@path/to/bin/run.js][:VAR=value...]`
 * (extra environment for that daemon, e.g. `t2:MLXM_THREADS=2`; another build's entrypoint to compare code changes).
 *
 * Needs llama-server: bench/build-llama-server.sh builds it from the llama.cpp sources node-llama-cpp ships
 * (cached under ~/.cache/mlxm-bench). Prints markdown tables.
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { getLlama, LlamaChatSession, type Llama } from "node-llama-cpp";
import { buildLlamaServer, startLlamaServer } from "./llama-server.js";
import { conversationTable, runConversations, systemPromptOf, type ConversationSystem } from "./conversation.js";
import { ensureBenchModel } from "./make-model.js";
import { startBenchDaemon, type BenchDaemon } from "./mlxm-daemon.js";
import { bootstrapMedianInterval, signTestP } from "./paired-stats.js";
import { rotated } from "./rotation.js";
import { streamSample, type StreamSample } from "./stream-sample.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "bench60m,tiny" },
    threads: { type: "string", default: "1" },
    // llama-server's `--threads-batch` (prompt and batched decodes); default: --threads. Match MLXM_BATCH_THREADS.
    "threads-batch": { type: "string" },
    tokens: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    streams: { type: "string", default: "1,2,4,8" },
    mlxm: { type: "string", default: "mlxm" },
    tables: { type: "string", default: "single,conversation" },
    turns: { type: "string", default: "10" },
    "system-tokens": { type: "string", default: "1500" },
    "no-llama-server": { type: "boolean", default: false },
    pairs: { type: "string", default: "40" },
  },
});
const TABLES = new Set(values.tables.split(","));
const TURNS = Number(values.turns);
const SYSTEM_TOKENS = Number(values["system-tokens"]);
const WITH_SERVER = !values["no-llama-server"];
const THREADS = Number(values.threads);
const THREADS_BATCH = values["threads-batch"] === undefined ? THREADS : Number(values["threads-batch"]);
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const STREAMS = values.streams.split(",").map(Number);
const PAIRS = Number(values.pairs);
const CTX = 4096;
const PROMPT = "Write a long story about a lighthouse keeper who finds a map.";
const RUN_JS = fileURLToPath(new URL("../bin/run.js", import.meta.url));

interface Variant {
  label: string;
  runJs: string;
  env: Record<string, string>;
}

/** `label[@run.js][:VAR=value...]` */
function parseVariant(spec: string): Variant {
  const [head, ...pairs] = spec.split(":");
  const [label, runJs] = head!.split("@");
  const env = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
  return { label: label!, runJs: runJs ?? RUN_JS, env };
}
const VARIANTS = values.mlxm.split(",").map(parseVariant);
const CACHE = path.join(os.homedir(), ".cache", "mlxm-bench", "models");

type Sample = StreamSample;

/** One streamed chat completion through the official SDK; identical for mlxm and llama-server. */
function stream(client: OpenAI, model: string, extra: Record<string, unknown>): Promise<Sample> {
  return streamSample(client, model, PROMPT, TOKENS, extra);
}

async function aggregate(client: OpenAI, model: string, n: number, extra: Record<string, unknown>) {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: n }, () => stream(client, model, extra)));
  const wall = performance.now() - started;
  return { tokensPerSecond: (results.reduce((a, r) => a + r.tokens, 0) / wall) * 1000, ttftMs: mean(results.map((r) => r.ttftMs)) };
}

/** Raw node-llama-cpp in this process: the ceiling for what the daemon adds on top. */
async function rawSample(llama: Llama, modelPath: string): Promise<Sample> {
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: CTX, sequences: 1, threads: THREADS });
  const session = new LlamaChatSession({ contextSequence: context.getSequence() });
  const started = performance.now();
  let first = Number.NaN;
  let tokens = 0;
  await session.prompt(PROMPT, {
    maxTokens: TOKENS,
    temperature: 0,
    onToken: () => {
      if (tokens === 0) first = performance.now();
      tokens++;
    },
  });
  const end = performance.now();
  await context.dispose();
  await model.dispose();
  return { ttftMs: first - started, tokens, tokensPerSecond: ((tokens - 1) / (end - first)) * 1000, endToEndTokensPerSecond: (tokens / (end - started)) * 1000 };
}

/** A daemon variant on the benchmark's models, with the benchmark's engine settings under the variant's own. */
function startMlxm(models: { name: string; path: string }[], variant: Variant): Promise<BenchDaemon> {
  const env = { MLXM_THREADS: String(THREADS), MLXM_NUM_PARALLEL: "8", MLXM_CONTEXT_SIZE: String(CTX), MLXM_MAX_QUEUE: "64", ...variant.env };
  return startBenchDaemon(models, env, variant.runJs);
}

/** The engine binary a daemon reports in /api/health (`local` or `prebuilt`), once its binding is up. */
async function engineBinaryOf(url: string): Promise<string> {
  const health = (await fetch(`${url}/api/health`).then((r) => r.json(), () => ({}))) as { accelerator?: { binary?: string } };
  return health.accelerator?.binary ?? "unknown";
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");

const binary = WITH_SERVER ? await buildLlamaServer() : undefined;
const presets = values.models.split(",");
const models = await Promise.all(presets.map(async (p) => ({ name: p, path: (await ensureBenchModel(p, path.join(CACHE, `${p}.gguf`))).path })));
const llama = await getLlama({ build: "never", gpu: false, maxThreads: THREADS, logLevel: "error" as never });
const daemons: (Variant & { daemon: Awaited<ReturnType<typeof startMlxm>>; client: OpenAI })[] = [];
// The conversation table compares prefix reuse with the same daemon without it.
const NO_REUSE: Variant = { label: "mlxm no reuse", runJs: RUN_JS, env: { MLXM_PREFIX_REUSE: "false" } };
for (const variant of TABLES.has("conversation") ? [...VARIANTS, NO_REUSE] : VARIANTS) {
  const daemon = await startMlxm(models, variant);
  daemons.push({ ...variant, daemon, client: new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: "bench", maxRetries: 0 }) });
}
const noReuse = daemons.find((d) => d.label === NO_REUSE.label);
const measured = daemons.filter((d) => d !== noReuse);
const describe = (v: Variant) => `${v.label}${Object.keys(v.env).length ? ` (${Object.entries(v.env).map(([k, x]) => `${k}=${x}`).join(" ")})` : ""}`;

/** The conversation table for one model: every mlxm variant, mlxm without reuse, llama-server with cache_prompt. */
async function conversationBench(m: { name: string; path: string }): Promise<void> {
  const model = await llama.loadModel({ modelPath: m.path });
  const system = systemPromptOf(SYSTEM_TOKENS, (text) => model.tokenize(text).length);
  await model.dispose();
  const server = binary ? await startLlamaServer({ binary, modelPath: m.path, threads: THREADS, threadsBatch: THREADS_BATCH, parallel: 8, ctxSize: CTX * 8 }) : undefined;
  try {
    const systems: ConversationSystem[] = daemons.map((d) => ({ who: d.label, client: d.client, extra: {} }));
    if (server) {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "bench", maxRetries: 0 });
      systems.push({ who: "llama-server", client, extra: { ignore_eos: true, cache_prompt: true } });
    }
    const replyTokens = 16;
    // One unrelated request first, so that turn 1 is the prompt's evaluation and not also a daemon's model load
    // (llama-server has loaded its model before it answers at all).
    for (const x of systems) await stream(x.client, m.name, x.extra);
    const results = await runConversations(systems, { model: m.name, system, turns: TURNS, replyTokens });
    console.log(`## ${m.name}: two ${TURNS}-turn conversations behind a ${SYSTEM_TOKENS}-token system prompt, taking turns\n`);
    console.log(`(${replyTokens}-token replies, an unrelated request after every turn; TTFT is the mean of the two conversations' turn)\n`);
    console.log(conversationTable(results, TURNS));
    const main = results.get(daemons[0]!.label)!;
    console.log(`\n${daemons[0]!.label}: prompt tokens per turn ${main.promptTokens.join(", ")}; cached ${main.cachedTokens.map((c) => c ?? "-").join(", ")}`);
    const later = (w: string) => mean(results.get(w)!.ttftMs.slice(1));
    const lines = [`${daemons[0]!.label} turns 2-${TURNS} mean TTFT ÷ own turn 1: ${f(later(daemons[0]!.label) / main.ttftMs[0]!, 3)} (goal ≤ 0.2)`];
    if (server) lines.push(`${daemons[0]!.label} ÷ llama-server, turns 2-${TURNS} mean TTFT: ${f(later(daemons[0]!.label) / later("llama-server"), 3)} (goal ≤ 1.0)`);
    console.log(`${lines.join("\n")}\n`);
  } finally {
    await server?.stop();
  }
}

// llama-server stops at an end-of-generation token unless told not to; mlxm's generated models never emit one.
const LLAMA_STREAM_EXTRA = { ignore_eos: true, cache_prompt: false };

/** llama-server for the stream tables (the benchmark's threads, 8 slots of CTX tokens) and a client for it. */
async function startStreamServer(m: { path: string }) {
  const server = await startLlamaServer({ binary: binary!, modelPath: m.path, threads: THREADS, threadsBatch: THREADS_BATCH, parallel: 8, ctxSize: CTX });
  return { server, serverClient: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "bench", maxRetries: 0 }) };
}

/**
 * Single stream, paired: each mlxm variant and llama-server answer the same request back to back, in alternating
 * order, `--pairs` times; the ratio of each pair's end-to-end rates, whose median and win count are steadier on a
 * shared machine than a ratio of medians (both sides of a pair see about the same load).
 */
async function pairedBench(m: { name: string; path: string }): Promise<void> {
  const { server, serverClient } = await startStreamServer(m);
  const pairs = new Map(measured.map((d) => [d.label, [] as Pair[]]));
  try {
    for (const d of measured) await stream(d.client, m.name, {});
    await stream(serverClient, m.name, LLAMA_STREAM_EXTRA);
    for (let i = 0; i < PAIRS; i++) {
      for (const d of measured) {
        const mine = () => stream(d.client, m.name, {});
        const theirs = () => stream(serverClient, m.name, LLAMA_STREAM_EXTRA);
        let a: Sample, b: Sample;
        if (i % 2) {
          a = await mine();
          b = await theirs();
        } else {
          b = await theirs();
          a = await mine();
        }
        pairs.get(d.label)!.push({ mlxm: a, server: b, mlxmFirst: i % 2 === 1 });
      }
    }
  } finally {
    await server.stop();
  }
  const ratio = (ps: Pair[], of: (s: Sample) => number) => f(median(ps.map((p) => of(p.mlxm) / of(p.server))), 3);
  const endToEnd = (s: Sample) => s.endToEndTokensPerSecond;
  console.log(`## ${m.name}: single stream, ${PAIRS} alternating pairs against llama-server\n`);
  console.log(
    "Per-pair ratios, mlxm ÷ llama-server, median: end-to-end tok/s (the goal's), its 95 % bootstrap interval, the " +
      "wins and their two-sided sign test (the chance of a split at least this uneven between equals), then the " +
      "same by who answered first (the second of a pair runs on caches the first left), the decode rate after the " +
      "first token, and TTFT. An identical variant under a second label (`--mlxm mlxm,again`) is an A/A control: how far two identical daemons differ.\n",
  );
  console.log(
    "| variant | end-to-end | 95 % CI | faster in | sign test p | mlxm first | llama-server first | decode tok/s | TTFT |\n" +
      "|---|---|---|---|---|---|---|---|---|",
  );
  for (const d of measured) {
    const ps = pairs.get(d.label)!;
    const ratios = ps.map((p) => endToEnd(p.mlxm) / endToEnd(p.server));
    const wins = ratios.filter((r) => r > 1).length;
    const decided = ratios.filter((r) => r !== 1).length;
    const [low, high] = bootstrapMedianInterval(ratios);
    const first = ps.filter((p) => p.mlxmFirst);
    const second = ps.filter((p) => !p.mlxmFirst);
    console.log(
      `| ${describe(d)} | ${ratio(ps, endToEnd)} | ${f(low, 3)}-${f(high, 3)} | ${wins} of ${ps.length} | ${f(signTestP(wins, decided), 2)} | ` +
        `${ratio(first, endToEnd)} | ${ratio(second, endToEnd)} | ${ratio(ps, (s) => s.tokensPerSecond)} | ${ratio(ps, (s) => s.ttftMs)} |`,
    );
  }
  console.log(`\n${await binariesLine()}\n`);
}

interface Pair {
  mlxm: Sample;
  server: Sample;
  mlxmFirst: boolean;
}

/**
 * Which llama.cpp binary each side ran: node-llama-cpp's prebuilt one or one `mlxm engine build` compiled here, and
 * llama-server's build (bench/build-llama-server.sh: -march=native and OpenMP unless told otherwise). Compare like
 * with like: the prebuilt binary is generic.
 */
async function binariesLine(): Promise<string> {
  const binaries = await Promise.all(measured.map(async (d) => `${d.label}: ${await engineBinaryOf(d.daemon.url)}`));
  return `llama.cpp binaries: raw node-llama-cpp: ${llama.buildType}; ${binaries.join("; ")}; llama-server: ${binary}`;
}

console.log(`\n# inference: ${THREADS} thread(s) (llama-server --threads-batch ${THREADS_BATCH}), ${TOKENS} tokens, greedy, ${ROUNDS} rounds (${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})\n`);
try {
  for (const m of models) {
    if (TABLES.has("conversation")) await conversationBench(m);
    if (TABLES.has("paired") && binary) await pairedBench(m);
    if (!TABLES.has("single")) continue;
    if (!binary) {
      console.log(`## ${m.name}\n\n(single-stream and 1-8-stream tables skipped: they compare with llama-server)\n`);
      continue;
    }
    const { server, serverClient } = await startStreamServer(m);
    const systems = [
      ...daemons.filter((d) => d !== noReuse).map((d) => ({ who: d.label, client: d.client, extra: {} })),
      { who: "llama-server", client: serverClient, extra: LLAMA_STREAM_EXTRA },
    ];
    const single = new Map<string, Sample[]>([["raw", []], ...systems.map((x) => [x.who, []] as [string, Sample[]])]);
    const agg = new Map<string, { tps: number[]; ttft: number[] }>();
    try {
      for (const x of systems) await stream(x.client, m.name, x.extra); // load the model into each daemon's pool (warm)
      const turns = [
        { who: "raw", sample: () => rawSample(llama, m.path) },
        ...systems.map((x) => ({ who: x.who, sample: () => stream(x.client, m.name, x.extra) })),
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of rotated(turns, round)) single.get(t.who)!.push(await t.sample());
        for (const n of STREAMS) {
          for (const x of rotated(systems, round)) {
            const r = await aggregate(x.client, m.name, n, x.extra);
            const key = `${x.who}@${n}`;
            const entry = agg.get(key) ?? { tps: [], ttft: [] };
            entry.tps.push(r.tokensPerSecond);
            entry.ttft.push(r.ttftMs);
            agg.set(key, entry);
          }
        }
      }
    } finally {
      await server.stop();
    }
    const tps = (s: Sample[]) => median(s.map((x) => x.endToEndTokensPerSecond));
    const decode = (s: Sample[]) => median(s.map((x) => x.tokensPerSecond));
    const ttft = (s: Sample[]) => median(s.map((x) => x.ttftMs));
    const row = (name: string, s: Sample[]) => `| ${name} | ${f(tps(s))} | ${f(decode(s))} | ${f(ttft(s))} |`;
    const raw = single.get("raw")!;
    const server1 = single.get("llama-server")!;
    console.log(`## ${m.name}\n`);
    console.log("| single stream | end-to-end tokens/s | decode tokens/s (after 1st) | TTFT (ms) |\n|---|---|---|---|");
    console.log(row("raw node-llama-cpp (in-process)", raw));
    for (const d of measured) console.log(row(`${measured.length > 1 ? describe(d) : "mlxm daemon"} (HTTP, SSE)`, single.get(d.label)!));
    console.log(row("llama-server (HTTP, SSE)", server1));
    console.log("");
    console.log(`${await binariesLine()}\n`);
    for (const d of measured) {
      const s = single.get(d.label)!;
      console.log(`${d.label} ÷ raw node-llama-cpp: ${f(tps(s) / tps(raw), 3)} (goal ≥ 0.97); ${d.label} ÷ llama-server: ${f(tps(s) / tps(server1), 3)} (goal ≥ 1.0)`);
    }
    console.log("");
    for (const d of measured) {
      if (measured.length > 1) console.log(`${describe(d)}:\n`);
      console.log("| streams | mlxm aggregate tok/s | llama-server aggregate tok/s | mlxm ÷ llama-server | mlxm mean TTFT (ms) | llama-server mean TTFT (ms) |\n|---|---|---|---|---|---|");
      for (const n of STREAMS) {
        const a = agg.get(`${d.label}@${n}`)!;
        const b = agg.get(`llama-server@${n}`)!;
        console.log(`| ${n} | ${f(median(a.tps))} | ${f(median(b.tps))} | ${f(median(a.tps) / median(b.tps), 3)} | ${f(median(a.ttft))} | ${f(median(b.ttft))} |`);
      }
      console.log("");
    }
  }
} finally {
  for (const d of daemons) await d.daemon.stop();
  await llama.dispose();
}
