/**
 * `mlxm engine build`: compile node-llama-cpp's llama.cpp addon for this machine, as Ollama and llama.cpp users build
 * for their CPU. node-llama-cpp's prebuilt linux-x64 binary picks one of a dozen generic CPU variants at run time;
 * a local build is compiled with `-march=native` (GGML_NATIVE) and OpenMP, and `getLlama({ build: "never" })` (what
 * the daemon calls) loads a local build whenever one exists, from the daemon's next start on.
 *
 * The build runs node-llama-cpp's own `source download` command: it clones the llama.cpp sources node-llama-cpp ships
 * (`llama/gitRelease.bundle`, so no network is needed), applies its patches and compiles into
 * `node_modules/node-llama-cpp/llama/localBuilds`. It runs in a child process group of its own, so Ctrl-C reaches
 * mlxm alone, which then stops the whole compile (npm, cmake, make, the compilers) and not just its first process.
 * This is an installation step like `npm rebuild`, not an engine operation: it never talks to the daemon.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { InterruptedError } from "../client/errors.js";
import type { GpuSetting } from "../config/config.js";

/** What `mlxm engine build` runs, and where the result lands. */
export interface EngineBuildPlan {
  /** MLXM_GPU's value the binary is built for: auto (what node-llama-cpp detects), off (CPU), metal, cuda, vulkan. */
  gpu: GpuSetting;
  command: string;
  args: string[];
  /** node-llama-cpp's folder of local builds; the daemon loads the one matching its options from here. */
  localBuildsDir: string;
}

export interface EngineBuildResult {
  gpu: GpuSetting;
  localBuildsDir: string;
  seconds: number;
}

/** The compile failed: its exit status, and the last lines of its output (the compiler's error is among them). */
export class EngineBuildError extends Error {
  readonly code = "engine_build_failed";
  constructor(
    readonly exitCode: number | null,
    readonly outputTail: string[],
  ) {
    super(`the engine build failed (exit status ${exitCode ?? "none"}):\n${outputTail.join("\n")}`);
    this.name = "EngineBuildError";
  }
}

/** The installed node-llama-cpp's package folder (where its CLI, sources and local builds live). */
export function nodeLlamaCppDir(): string {
  // Its `exports` hide package.json; its main module is dist/index.js (the "node" condition lets require resolve it).
  return path.resolve(path.dirname(createRequire(import.meta.url).resolve("node-llama-cpp")), "..");
}

/** The command that builds the engine for `gpu`, run with this Node against the installed node-llama-cpp. */
export function engineBuildPlan(gpu: GpuSetting, nlcDir = nodeLlamaCppDir()): EngineBuildPlan {
  return {
    gpu,
    command: process.execPath,
    // `source download` (not `source build`) because a fresh install has no llama.cpp checkout yet: it makes one
    // from the bundled git bundle, offline. node-llama-cpp spells the CPU `false`.
    args: [path.join(nlcDir, "dist", "cli", "cli.js"), "source", "download", "--gpu", gpu === "off" ? "false" : gpu, "--noUsageExample"],
    localBuildsDir: path.join(nlcDir, "llama", "localBuilds"),
  };
}

const TAIL_LINES = 40;

/**
 * Runs a plan to the end. Every output line goes to `onLine` (progress); the last ones are kept for the error.
 * Aborting `signal` stops the whole process group and rejects with InterruptedError.
 */
export function runEngineBuild(
  plan: Pick<EngineBuildPlan, "command" | "args" | "gpu" | "localBuildsDir">,
  { onLine, signal }: { onLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<EngineBuildResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError("the engine build was cancelled"));
    const child = spawn(plan.command, plan.args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    const tail: string[] = [];
    const take = (chunk: Buffer, pending: { text: string }) => {
      pending.text += chunk.toString("utf8");
      // cmake and ora redraw with \r: treat it as a line end so progress shows as it happens.
      const lines = pending.text.split(/\r?\n|\r/);
      pending.text = lines.pop() ?? "";
      for (const line of lines) emit(line);
    };
    const emit = (line: string) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      onLine?.(line);
    };
    const out = { text: "" };
    const err = { text: "" };
    child.stdout.on("data", (c: Buffer) => take(c, out));
    child.stderr.on("data", (c: Buffer) => take(c, err));
    const stop = () => {
      // The negative pid names the child's process group: npm, cmake-js, cmake, make and the compilers.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    };
    signal?.addEventListener("abort", stop, { once: true });
    child.on("error", (e) => {
      signal?.removeEventListener("abort", stop);
      reject(e);
    });
    child.on("close", (code) => {
      signal?.removeEventListener("abort", stop);
      emit(out.text);
      emit(err.text);
      if (signal?.aborted) return reject(new InterruptedError("the engine build was cancelled"));
      if (code !== 0) return reject(new EngineBuildError(code, tail));
      resolve({ gpu: plan.gpu, localBuildsDir: plan.localBuildsDir, seconds: Math.round((Date.now() - started) / 100) / 10 });
    });
  });
}

/**
 * How build output reaches the user: on a terminal, the compile's `[n/total]` steps as one line rewritten in place
 * and everything else as it comes; in a log, every line as it comes.
 */
export function engineBuildProgress(tty: boolean, write: (text: string) => void): { line(line: string): void; done(): void } {
  let rewriting = false;
  return {
    line(line) {
      const step = tty ? /^\[(\d+)\/(\d+)\]/.exec(line) : null;
      if (step) {
        const [done, total] = [Number(step[1]), Number(step[2])];
        write(`\r\x1b[2Kcompiling llama.cpp: ${done}/${total} (${Math.floor((100 * done) / total)}%)`);
        rewriting = true;
        return;
      }
      write(`${rewriting ? "\n" : ""}${line}\n`);
      rewriting = false;
    },
    done() {
      if (rewriting) write("\n");
      rewriting = false;
    },
  };
}
