/**
 * The process-wide llama.cpp binding. `getLlama()` costs 1-2 s, so it is created lazily, once per process, and
 * shared through leases: several daemons in one process (tests) share it, and it is disposed when the last lease
 * is released. llama.cpp's log goes to the current logger, and its recent warnings and errors are kept, because a
 * failed model load reaches JavaScript only as "Failed to load model" and the reason is in the log.
 */
import os from "node:os";
import { getLlama, LlamaLogLevel, NoBinaryFoundError, type Llama } from "node-llama-cpp";
import type { GpuSetting } from "../../config/config.js";
import type { Logger } from "../../observability/logger.js";
import { checkBackend, gpuUnavailable, llamaGpuOption } from "./accelerator.js";

/**
 * Threads for inference when MLXM_THREADS is not set; the one place to tune it.
 *
 * Measured on 2 cores (bench/thread-study.ts): 1 thread decodes ~2.6x faster than 2 with the prebuilt
 * node-llama-cpp, and 20-100x faster than its default of 4. Not the CPU variant (it loads the zen4 build, as fast
 * as -march=native): node-llama-cpp starts a fresh ggml worker thread for every decode instead of keeping a
 * threadpool, runs consecutive decodes on whichever libuv pool thread is free (hundreds of CPU migrations per
 * 100 tokens), and ggml's workers spin while they wait, so a second thread costs 3x the CPU per token and any
 * outside load collapses it. One thread never collapses. On bigger machines, half the cores leaves room for the
 * event loop, HTTP and other processes; that part is untested here.
 */
export function defaultThreadCount(cores = os.availableParallelism()): number {
  return cores <= 2 ? 1 : Math.min(8, Math.floor(cores / 2));
}

/**
 * Threads for a prompt evaluated while its request is the only one (direct-decode.ts) when MLXM_PROMPT_THREADS is not
 * set: the cores, at most 8, and never fewer than the batch budget. The reasons one thread wins for single tokens do
 * not hold for a prompt: it is matrix-matrix work that keeps a second thread busy, and the main thread, waiting for
 * the first token, leaves its core free (see direct-decode.ts, "Prompt threads", for the measurement).
 */
export function defaultPromptThreadCount(batchThreads: number, cores = os.availableParallelism()): number {
  return Math.max(batchThreads, Math.min(8, cores));
}

/** A hold on the shared binding. */
export interface LlamaLease {
  /** The binding, created on first use. `threads` becomes its thread budget (shared by all its contexts). */
  llama(): Promise<Llama>;
  /** llama.cpp log lines (warnings and errors) logged since `mark`, a value from {@link logMark}. */
  logSince(mark: number): string[];
  logMark(): number;
  /** Give the lease back; the last one disposes the binding. Idempotent. */
  release(): Promise<void>;
}

const LOG_LINES_KEPT = 200;

const shared = {
  llama: undefined as Promise<Llama> | undefined,
  leases: new Set<object>(),
  /** The most recent lease's logger receives llama.cpp's log. */
  logger: undefined as Logger | undefined,
  log: [] as string[],
  /** Lines ever logged, so marks stay valid when old lines are dropped. */
  logCount: 0,
};

function onLlamaLog(level: LlamaLogLevel, message: string): void {
  const text = message.trim();
  if (!text) return;
  const important = level === LlamaLogLevel.error || level === LlamaLogLevel.fatal || level === LlamaLogLevel.warn;
  if (important) {
    shared.log.push(text);
    shared.logCount++;
    if (shared.log.length > LOG_LINES_KEPT) shared.log.shift();
  }
  if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) shared.logger?.warn({ llama: text }, "llama.cpp error");
  else shared.logger?.debug({ llama: text, level }, "llama.cpp");
}

/**
 * A lease on the process-wide llama.cpp binding. `gpu` is MLXM_GPU: the binding is created with it, and a lease whose
 * setting the existing binding does not satisfy (a named backend that did not load) fails with GpuUnavailableError.
 */
export function leaseLlama({ threads, gpu = "auto", logger }: { threads: number; gpu?: GpuSetting; logger?: Logger }): LlamaLease {
  const token = {};
  shared.leases.add(token);
  if (logger) shared.logger = logger;
  let released = false;
  return {
    async llama() {
      if (released) throw new Error("this llama lease was released");
      shared.llama ??= getLlama({
        build: "never",
        gpu: llamaGpuOption(gpu),
        maxThreads: threads,
        logLevel: LlamaLogLevel.warn,
        logger: onLlamaLog,
      }).catch((err: unknown) => {
        shared.llama = undefined;
        // A named backend whose binary cannot load here (NoBinaryFoundError): say what is missing.
        if (gpu !== "auto" && gpu !== "off") throw gpuUnavailable(gpu, bindingFailure(err));
        throw err;
      });
      const llama = await shared.llama;
      checkBackend(gpu, llama);
      // The binding splits this budget among concurrent evaluations of all its contexts.
      if (llama.maxThreads !== threads) llama.maxThreads = threads;
      return llama;
    },
    logMark: () => shared.logCount,
    logSince(mark) {
      const available = shared.logCount - shared.log.length;
      return shared.log.slice(Math.max(0, mark - available));
    },
    async release() {
      if (released) return;
      released = true;
      shared.leases.delete(token);
      if (shared.leases.size > 0 || !shared.llama) return;
      const pending = shared.llama;
      shared.llama = undefined;
      shared.logger = undefined;
      const llama = await pending.catch(() => undefined);
      await llama?.dispose();
    },
  };
}

/** Why getLlama failed, in words: its NoBinaryFoundError carries no message of its own. */
function bindingFailure(err: unknown): string {
  if (err instanceof NoBinaryFoundError) return "no prebuilt node-llama-cpp binary for it loads here";
  return err instanceof Error ? err.message : String(err);
}
