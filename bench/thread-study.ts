/**
 * Thread study: single-stream generation speed of node-llama-cpp (in-process) versus llama.cpp's llama-server, at
 * 1 and 2 threads, measured in ONE run with the configurations interleaved round by round (this box is shared and
 * noisy: only ratios measured side by side mean anything).
 *
 *   npx tsx bench/thread-study.ts                 # defaults: bench60m Q8_0 model, 128 tokens, 5 rounds, threads 1,2
 *   npx tsx bench/thread-study.ts --rounds 7 --tokens 128 --threads 1,2 --batch 512
 *   npx tsx bench/thread-study.ts --no-server     # node-llama-cpp only
 *   npx tsx bench/thread-study.ts --nlc-local     # also a local node-llama-cpp build made with
 *       NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=ON npx --no node-llama-cpp source build --gpu false
 *   npx tsx bench/thread-study.ts --uv default    # node-llama-cpp with the default libuv pool only (default: "default,1")
 *   npx tsx bench/thread-study.ts --prompt-repeat 16 --tokens 32   # long prompt: time-to-first-token study
 *
 * node-llama-cpp runs in a forked child (one per binary: prebuilt, local build) that keeps one model and one context
 * per (threads, batch) configuration loaded, and generates on command; llama-server runs as one process per (binary,
 * threads), all started up front and idle while others run. Each configuration does one warm-up generation, then
 * one generation per round; rounds rotate the order of configurations.
 *
 * Measures per generation: TTFT (call -> first token, prompt evaluation included), decode tokens/s
 * ((tokens - 1) / (end - first token)), the engine process's CPU time per token (spin-waiting shows up here) and, for
 * node-llama-cpp, the CPU time of its JavaScript main thread; for llama-server also its own
 * `timings.predicted_per_second`. The box is shared: `nice -n -15 npx tsx bench/thread-study.ts` (as root) gives
 * numbers close to a quiet machine; without it, the table shows behaviour under the neighbours' load.
 *
 * What it showed on the 2-core dev box (Nov 2026, node-llama-cpp 3.21.1): node-llama-cpp loses at 2 threads because
 * (1) it never attaches a ggml threadpool, so every llama_decode creates and joins a fresh worker pthread, and
 * (2) each decode/sample step runs on whichever of libuv's 4 pool threads is free, so consecutive tokens hop threads
 * and CPUs; ggml's barriers busy-wait, so every hop/wake-up delay is paid in spinning. `UV_THREADPOOL_SIZE=1` (or a
 * local OpenMP build) removes most of the loss; 1 thread is the only setting that never collapses under load.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Llama, LlamaCompletion as LlamaCompletionT, LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import { ensureBenchModel } from "./make-model.js";
import {
  buildLlamaServer,
  startLlamaServer,
  streamTextCompletion,
  type LlamaServerHandle,
} from "./llama-server.js";

const CACHE = join(process.env.HOME ?? "/root", ".cache", "mlxm-bench");
const DEFAULT_MODEL = join(CACHE, "models", "bench-60m.gguf");
const PROMPT =
  "Once upon a time, in a small village at the edge of a great forest, there lived an old clockmaker who";

// ---------------------------------------------------------------------------------------------------------------
// Child: node-llama-cpp worker
// ---------------------------------------------------------------------------------------------------------------

interface NlcConfig {
  threads: number;
  batchSize: number;
}
type ToChild =
  | { op: "init"; modelPath: string; configs: NlcConfig[]; local: boolean }
  | { op: "run"; id: number; config: NlcConfig; prompt: string; tokens: number }
  | { op: "quit" };
type FromChild =
  | { op: "ready"; info: Record<string, unknown> }
  | { op: "result"; id: number; sample: Sample }
  | { op: "error"; message: string };

interface Sample {
  ttftMs: number;
  decodeTps: number;
  tokens: number;
  totalMs: number;
  /** CPU time the engine process used during the generation (all its threads, spinning included). */
  cpuMs?: number;
  /** node-llama-cpp only: CPU time of the JavaScript main thread during the generation. */
  mainThreadCpuMs?: number;
  /** llama-server only: its own generation rate. */
  serverTps?: number;
  serverPromptMs?: number;
}

async function childMain(): Promise<void> {
  const { getLlama, LlamaCompletion, LlamaLogLevel } = await import("node-llama-cpp");
  const send = (message: FromChild): void => void process.send?.(message);
  const contexts = new Map<string, { ctx: LlamaContext; sequence: LlamaContextSequence; completion: LlamaCompletionT }>();
  const key = (c: NlcConfig): string => `${c.threads}/${c.batchSize}`;
  let llama: Llama | undefined;

  process.on("message", (message: ToChild) => {
    void handle(message).catch((error: unknown) =>
      send({ op: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });

  async function handle(message: ToChild): Promise<void> {
    if (message.op === "quit") {
      await llama?.dispose();
      process.exit(0);
    }
    if (message.op === "init") {
      const maxThreads = Math.max(...message.configs.map((c) => c.threads));
      llama = await getLlama({
        build: "never",
        gpu: false,
        maxThreads,
        usePrebuiltBinaries: !message.local,
        logLevel: LlamaLogLevel.warn,
        ...(message.local ? { cmakeOptions: localCmakeOptions() } : {}),
      });
      const model = await llama.loadModel({ modelPath: message.modelPath });
      for (const config of message.configs) {
        const ctx = await model.createContext({
          contextSize: 2048,
          sequences: 1,
          threads: config.threads,
          batchSize: config.batchSize,
        });
        const sequence = ctx.getSequence();
        contexts.set(key(config), { ctx, sequence, completion: new LlamaCompletion({ contextSequence: sequence }) });
      }
      send({
        op: "ready",
        info: {
          buildType: llama.buildType,
          cpuMathCores: llama.cpuMathCores,
          maxThreads: llama.maxThreads,
          cpuBackend: loadedCpuBackends().join(", "),
          pid: process.pid,
        },
      });
      return;
    }
    const entry = contexts.get(key(message.config));
    if (!entry) throw new Error(`no context for ${key(message.config)}`);
    await entry.sequence.clearHistory(); // every generation evaluates its prompt from scratch, like llama-server here
    let tokens = 0;
    let first = Number.NaN;
    const cpu0 = process.cpuUsage();
    const main0 = threadCpuNs(process.pid, process.pid);
    const started = performance.now();
    await entry.completion.generateCompletion(message.prompt, {
      maxTokens: message.tokens,
      temperature: 0,
      onToken: (t) => {
        if (tokens === 0) first = performance.now();
        tokens += t.length;
      },
    });
    const ended = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const main1 = threadCpuNs(process.pid, process.pid);
    if (entry.ctx.currentThreads !== message.config.threads && entry.ctx.currentThreads !== 0) {
      process.stderr.write(`warning: context ran with ${entry.ctx.currentThreads} threads, wanted ${message.config.threads}\n`);
    }
    send({
      op: "result",
      id: message.id,
      sample: {
        ttftMs: first - started,
        decodeTps: tokens > 1 ? ((tokens - 1) / (ended - first)) * 1000 : Number.NaN,
        tokens,
        totalMs: ended - started,
        cpuMs: (cpu.user + cpu.system) / 1000,
        mainThreadCpuMs: (main1 - main0) / 1e6,
      },
    });
  }
}

/** CPU time (ns) of one thread, from /proc/<pid>/task/<tid>/schedstat (0 when unavailable). */
function threadCpuNs(pid: number, tid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  } catch {
    return 0;
  }
}

/** CPU time (ms) of a whole process: the sum over its live threads (llama-server's threads are long-lived). */
function processCpuMs(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + threadCpuNs(pid, Number(tid)), 0) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Which ggml CPU backend variants (libggml-cpu-<variant>.so) and OpenMP runtimes this process has mapped. */
function loadedCpuBackends(): string[] {
  const maps = readFileSync("/proc/self/maps", "utf8");
  const names = new Set<string>();
  for (const line of maps.split("\n")) {
    const file = line.split(/\s+/).at(-1) ?? "";
    const match = /(libggml-cpu[^/]*\.so|libgomp[^/]*\.so[.0-9]*)$/.exec(file);
    if (match) names.add(match[1]);
  }
  return [...names];
}

/** The cmake options of the optional local node-llama-cpp build (non-empty so it never shadows the prebuilt one). */
function localCmakeOptions(): Record<string, string> {
  return { GGML_OPENMP: "ON" };
}

// ---------------------------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------------------------

class NlcWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (s: Sample) => void; reject: (e: Error) => void }>();
  private readyResolve?: (info: Record<string, unknown>) => void;
  private failure?: (e: Error) => void;
  info: Record<string, unknown> = {};

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (message: FromChild) => {
      if (message.op === "ready") this.readyResolve?.(message.info);
      else if (message.op === "result") {
        this.pending.get(message.id)?.resolve(message.sample);
        this.pending.delete(message.id);
      } else {
        const error = new Error(`node-llama-cpp worker: ${message.message}`);
        this.failure?.(error);
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      }
    });
    child.on("exit", (code) => {
      const error = new Error(`node-llama-cpp worker exited (${code})`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  static async start(modelPath: string, configs: NlcConfig[], local: boolean, env: NodeJS.ProcessEnv = {}): Promise<NlcWorker> {
    const child = fork(fileURLToPath(import.meta.url), ["--child"], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const worker = new NlcWorker(child);
    try {
      worker.info = await new Promise<Record<string, unknown>>((resolveReady, reject) => {
        worker.readyResolve = resolveReady;
        worker.failure = reject;
        child.once("exit", (code) => reject(new Error(`node-llama-cpp worker exited during init (${code})`)));
        child.send({ op: "init", modelPath, configs, local } satisfies ToChild);
      });
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
    return worker;
  }

  run(config: NlcConfig, prompt: string, tokens: number): Promise<Sample> {
    const id = this.nextId++;
    return new Promise<Sample>((resolveRun, reject) => {
      this.pending.set(id, { resolve: resolveRun, reject });
      this.child.send({ op: "run", id, config, prompt, tokens } satisfies ToChild);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.send({ op: "quit" } satisfies ToChild);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface Variant {
  label: string;
  engine: string;
  threads: number;
  batch: string;
  run: () => Promise<Sample>;
  samples: Sample[];
}

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
const fmt = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : "–");

async function parentMain(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      tokens: { type: "string", default: "128" },
      rounds: { type: "string", default: "5" },
      threads: { type: "string", default: "1,2" },
      batch: { type: "string", default: "512" },
      "no-server": { type: "boolean", default: false },
      "no-nlc": { type: "boolean", default: false },
      "nlc-local": { type: "boolean", default: false },
      uv: { type: "string", default: "default,1" },
      "prompt-repeat": { type: "string", default: "1" },
      server: { type: "string", multiple: true },
      "server-poll": { type: "string" },
      child: { type: "boolean", default: false },
    },
  });
  const tokens = Number(values.tokens);
  const rounds = Number(values.rounds);
  const prompt = Array.from({ length: Number(values["prompt-repeat"]) }, () => PROMPT).join(" ");
  const threadCounts = values.threads.split(",").map(Number);
  const batchSizes = values.batch.split(",").map(Number);
  const modelPath = values.model ?? (await ensureBenchModel("bench60m", DEFAULT_MODEL)).path;

  const variants: Variant[] = [];
  const workers: NlcWorker[] = [];
  const servers: LlamaServerHandle[] = [];
  const notes: string[] = [];
  const started = performance.now();

  try {
    // node-llama-cpp workers: one process per binary, one context per (threads, batch).
    const nlcConfigs: NlcConfig[] = threadCounts.flatMap((threads) => batchSizes.map((batchSize) => ({ threads, batchSize })));
    const nlcBinaries: Array<{ name: string; local: boolean }> = values["no-nlc"]
      ? []
      : [{ name: "node-llama-cpp prebuilt", local: false }, ...(values["nlc-local"] ? [{ name: "node-llama-cpp local build (OpenMP, native)", local: true }] : [])];
    // libuv threadpool size of the node-llama-cpp process: node-llama-cpp runs every llama_decode (and every sampling
    // step) as an AsyncWorker on libuv's pool (4 threads by default), so consecutive tokens hop between threads.
    const uvSizes = values.uv.split(",").map((x) => x.trim());
    for (const binary of nlcBinaries) {
      for (const uv of uvSizes) {
        const env = uv === "default" ? {} : { UV_THREADPOOL_SIZE: uv };
        const name = uv === "default" ? binary.name : `${binary.name}, UV_THREADPOOL_SIZE=${uv}`;
        const worker = await NlcWorker.start(modelPath, nlcConfigs, binary.local, env);
        workers.push(worker);
        notes.push(`${name}: ${JSON.stringify(worker.info)}`);
        for (const config of nlcConfigs) {
          variants.push({
            label: `${name} t${config.threads} b${config.batchSize}`,
            engine: name,
          threads: config.threads,
          batch: String(config.batchSize),
            run: () => worker.run(config, prompt, tokens),
            samples: [],
          });
        }
      }
    }

    // llama-server: the default (OpenMP) build, plus the no-OpenMP build when it exists, or --server PATH ...
    if (!values["no-server"]) {
      let binaries = values.server ?? [];
      if (binaries.length === 0) {
        const main = await buildLlamaServer();
        binaries = [main];
        const noomp = main.replace(/build-native\//, "build-native-noomp/");
        if (noomp !== main && existsSync(noomp)) binaries.push(noomp);
      }
      for (const binary of binaries) {
        const flavour = /noomp/.test(binary) ? "llama-server (ggml threadpool)" : "llama-server (OpenMP)";
        for (const threads of threadCounts) {
          const server = await startLlamaServer({
            binary,
            modelPath,
            threads,
            parallel: 1,
            ctxSize: 2048,
            ...(values["server-poll"] !== undefined ? { poll: Number(values["server-poll"]) } : {}),
          });
          servers.push(server);
          variants.push({
            label: `${flavour} t${threads}`,
            engine: flavour,
            threads,
            batch: "2048/512",
            run: async () => {
              const cpu0 = processCpuMs(server.pid);
              const r = await streamTextCompletion(server.url, {
                prompt,
                maxTokens: tokens,
                ignoreEos: true,
                cachePrompt: false,
                keepText: false,
              });
              return {
                ttftMs: r.ttftMs,
                decodeTps: r.clientTokensPerSecond,
                tokens: r.tokens,
                totalMs: r.durationMs,
                serverTps: r.serverTimings?.predicted_per_second,
                serverPromptMs: r.serverTimings?.prompt_ms,
                cpuMs: processCpuMs(server.pid) - cpu0,
              };
            },
            samples: [],
          });
        }
        notes.push(`${flavour}: ${binary}`);
      }
    }

    // Warm-up, then interleaved rounds with a rotating start.
    process.stderr.write(`warming up ${variants.length} configurations\n`);
    for (const v of variants) await v.run();
    for (let round = 0; round < rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const v of order) v.samples.push(await v.run());
      process.stderr.write(
        `round ${round + 1}/${rounds}: ${variants.map((v) => `${v.label}=${fmt(v.samples.at(-1)?.decodeTps ?? Number.NaN, 0)}`).join("  ")}\n`,
      );
    }
  } finally {
    await Promise.all([...workers.map((w) => w.stop()), ...servers.map((s) => s.stop())]);
  }

  // Report.
  const baseline = variants.find((v) => v.engine.startsWith("node-llama-cpp prebuilt") && v.threads === 1);
  const baseTps = baseline ? median(baseline.samples.map((s) => s.decodeTps)) : Number.NaN;
  const lines = [
    `Model: ${modelPath} | prompt ${prompt.length} chars | ${tokens} tokens, greedy | ${rounds} interleaved rounds | ` +
      `${cpus().length} CPUs, load avg ${loadavg().map((x) => x.toFixed(2)).join(" ")} | ${((performance.now() - started) / 1000).toFixed(0)} s`,
    "",
    "| engine | threads | batch | decode tok/s median (min–max) | server-reported tok/s | TTFT ms median | vs nlc t1 | engine CPU ms/token | JS main thread CPU ms/token |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const v of variants) {
    const tps = v.samples.map((s) => s.decodeTps);
    const m = median(tps);
    const serverTps = median(v.samples.map((s) => s.serverTps ?? Number.NaN));
    lines.push(
      `| ${v.engine} | ${v.threads} | ${v.batch} | ${fmt(m)} (${fmt(Math.min(...tps), 0)}–${fmt(Math.max(...tps), 0)}) | ` +
        `${fmt(serverTps)} | ${fmt(median(v.samples.map((s) => s.ttftMs)))} | ${fmt(m / baseTps, 2)}x | ` +
        `${fmt(median(v.samples.map((s) => (s.cpuMs ?? Number.NaN) / s.tokens)), 2)} | ` +
        `${fmt(median(v.samples.map((s) => (s.mainThreadCpuMs ?? Number.NaN) / s.tokens)), 2)} |`,
    );
  }
  for (const v of variants) {
    const short = v.samples.filter((x) => x.tokens !== tokens);
    if (short.length) notes.push(`WARNING ${v.label}: ${short.length} generation(s) did not produce ${tokens} tokens (${short.map((x) => x.tokens).join(", ")})`);
  }
  lines.push("", ...notes.map((n) => `- ${n}`));
  process.stdout.write(lines.join("\n") + "\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const main = process.argv.includes("--child") ? childMain : parentMain;
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
