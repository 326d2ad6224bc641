/**
 * Writes a generated model for benchmarks, e.g.
 *   npx tsx bench/make-model.ts --preset bench60m --out .bench-cache/bench-60m.gguf
 * Other benchmark scripts import {@link ensureBenchModel} to reuse a model they already made.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  BENCH_60M_PRESET,
  TINY_PRESET,
  readValidGgufFile,
  summarizeGguf,
  writeTinyLlama,
  type GgmlWritableType,
  type TinyLlamaOptions,
} from "../src/daemon/engine/gguf/index.js";

/** The presets this script knows, by the name given to `--preset`. */
export const BENCH_PRESETS: Readonly<Record<string, TinyLlamaOptions>> = {
  tiny: TINY_PRESET,
  bench60m: BENCH_60M_PRESET,
};

/** What `makeBenchModel` and `ensureBenchModel` produced. */
export interface BenchModel {
  path: string;
  bytes: number;
  parameterSize: string;
  quantization: string;
  /** Milliseconds spent writing; 0 when an existing file was reused. */
  writeMs: number;
}

/** Writes `preset` (with `overrides`) to `out`, replacing any file there. */
export async function makeBenchModel(
  preset: string,
  out: string,
  overrides: TinyLlamaOptions = {},
): Promise<BenchModel> {
  const options = BENCH_PRESETS[preset];
  if (!options) throw new Error(`unknown preset "${preset}" (known: ${Object.keys(BENCH_PRESETS).join(", ")})`);
  await mkdir(dirname(resolve(out)), { recursive: true });
  const started = performance.now();
  await writeTinyLlama(out, { ...options, ...overrides });
  const writeMs = performance.now() - started;
  return { ...(await describe(out)), writeMs };
}

/**
 * Reuses the model at `out` when it exists and is a valid GGUF, else writes it. Generation is deterministic, so a
 * model written earlier with the same preset and options is the same file.
 */
export async function ensureBenchModel(
  preset: string,
  out: string,
  overrides: TinyLlamaOptions = {},
): Promise<BenchModel> {
  const exists = await stat(out).then(
    (s) => s.isFile(),
    () => false,
  );
  if (exists) {
    const existing = await describe(out).catch(() => undefined);
    // A file made from an older version of the preset (another context length) is made again.
    const wanted = { ...BENCH_PRESETS[preset], ...overrides }.contextLength;
    if (existing && (wanted === undefined || existing.contextLength === wanted)) return { ...existing, writeMs: 0 };
  }
  return makeBenchModel(preset, out, overrides);
}

async function describe(path: string): Promise<Omit<BenchModel, "writeMs"> & { contextLength?: number }> {
  const info = await readValidGgufFile(path);
  const summary = summarizeGguf(info);
  return { path, bytes: info.fileSize, parameterSize: summary.parameterSize, quantization: summary.quantization, contextLength: summary.contextLength };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: "string", default: "bench60m" },
      out: { type: "string" },
      type: { type: "string" },
      seed: { type: "string" },
      "if-missing": { type: "boolean", default: false },
    },
  });
  if (!values.out) {
    process.stderr.write(
      "usage: tsx bench/make-model.ts --preset tiny|bench60m --out PATH " +
        "[--type F32|F16|Q8_0] [--seed N] [--if-missing]\n",
    );
    process.exitCode = 2;
    return;
  }
  const overrides: TinyLlamaOptions = {
    ...(values.type ? { tensorType: values.type as GgmlWritableType } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
  };
  const make = values["if-missing"] ? ensureBenchModel : makeBenchModel;
  const model = await make(values.preset, values.out, overrides);
  const megabytes = (model.bytes / 1e6).toFixed(1);
  process.stdout.write(
    `${model.path}  ${model.parameterSize} ${model.quantization}  ${megabytes} MB  ${model.writeMs.toFixed(0)} ms\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
