/**
 * A real `mlxm serve` child for benchmarks: a temporary MLXM_HOME with the given GGUF files registered as models
 * (no pull, no copy), on a free port, with the benchmark's environment on top of sensible defaults.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../src/daemon/store/store.js";
import { readValidGgufFile, summarizeGguf } from "../src/daemon/engine/gguf/index.js";
import { freePort } from "./llama-server.js";

export const RUN_JS = fileURLToPath(new URL("../bin/run.js", import.meta.url));

export interface BenchDaemon {
  url: string;
  stop(): Promise<void>;
}

/** Registers `models` (name → file) in a fresh home and starts the daemon there; resolves once it is ready. */
export async function startBenchDaemon(
  models: { name: string; path: string }[],
  env: Record<string, string>,
  runJs = RUN_JS,
): Promise<BenchDaemon> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-bench-"));
  const store = await Store.open(path.join(home, "mlxm.db"));
  for (const m of models) {
    const info = await readValidGgufFile(m.path);
    const summary = summarizeGguf(info);
    const digest = `sha256:bench-${m.name}`;
    await store.models.upsert(
      { name: m.name, source: "local", repo: null, revision: null, quant: summary.quantization, format: "gguf", family: summary.architecture,
        parameter_size: summary.parameterSize, context_length: summary.contextLength ?? null, size_bytes: info.fileSize, digest, details_json: "{}" },
      [{ filename: path.basename(m.path), digest, sizeBytes: info.fileSize, path: m.path }],
    );
  }
  await store.close();
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [runJs, "serve"], {
    env: { ...process.env, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${port}`, MLXM_TRACE: "0", MLXM_LOG_LEVEL: "warn", MLXM_KEEP_ALIVE: "-1", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${url}/api/health`).then((r) => r.ok, () => false)) break;
    // Generous (180 s): on a loaded machine a daemon's start (Logfire, node-llama-cpp) can take a minute.
    if (child.exitCode !== null || i > 1800) {
      fs.rmSync(home, { recursive: true, force: true });
      throw new Error(`mlxm serve did not become ready (exit code ${child.exitCode}); its stderr is above`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
