/**
 * Models for tests: generated random-weight GGUFs (valid or deliberately broken) written to a temp directory and
 * registered in a store, the way a pull would leave them.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  TINY_PRESET,
  summarizeGguf,
  readGgufFile,
  tinyLlamaSpec,
  writeGguf,
  writeTinyLlama,
  type TinyLlamaOptions,
} from "../../src/daemon/engine/gguf/index.js";
import type { ModelRow } from "../../src/daemon/store/repos/models-repo.js";
import type { Store } from "../../src/daemon/store/store.js";

export interface TestModelOptions extends TinyLlamaOptions {
  /** Where to write the file; default a temp directory removed when the process exits. */
  dir?: string;
}

export interface TestModel {
  row: ModelRow;
  path: string;
}

/** How {@link addCorruptModel} breaks its file. */
export type Corruption =
  /** Cut in half: tensor data runs past the end of the file. */
  | "truncated"
  /** No `llama.attention.head_count`: llama.cpp would abort the whole process on it. */
  | "missing-head-count"
  /** Not GGUF at all. */
  | "not-gguf";

let sharedDir: string | undefined;

/** A temp directory for this test process, removed at exit. */
export function testModelsDir(): string {
  if (!sharedDir) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mlxm-test-models-"));
    sharedDir = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return sharedDir;
}

/** Writes a TINY_PRESET-based model (options override it) and registers it as `name`. */
export async function addTestModel(store: Store, name: string, options: TestModelOptions = {}): Promise<TestModel> {
  const { dir = testModelsDir(), ...tiny } = options;
  const file = path.join(dir, `${safe(name)}.gguf`);
  await writeTinyLlama(file, { ...TINY_PRESET, name, ...tiny });
  return { row: await register(store, name, file), path: file };
}

/** Registers a model whose file is broken in the given way; loading it must fail cleanly. */
export async function addCorruptModel(store: Store, name: string, corruption: Corruption, options: TestModelOptions = {}): Promise<TestModel> {
  const { dir = testModelsDir(), ...tiny } = options;
  const file = path.join(dir, `${safe(name)}.gguf`);
  switch (corruption) {
    case "truncated": {
      const { bytes } = await writeTinyLlama(file, { ...TINY_PRESET, name, ...tiny });
      await truncate(file, Math.floor(bytes / 2));
      break;
    }
    case "missing-head-count": {
      const spec = tinyLlamaSpec({ ...TINY_PRESET, name, ...tiny });
      const { ["llama.attention.head_count"]: _dropped, ...metadata } = spec.metadata;
      await writeGguf(file, { ...spec, metadata });
      break;
    }
    case "not-gguf":
      await writeFile(file, "this is not a model\n".repeat(100));
      break;
  }
  return { row: await register(store, name, file), path: file };
}

async function register(store: Store, name: string, file: string): Promise<ModelRow> {
  const bytes = await readFile(file);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const summary = await readGgufFile(file).then(
    (info) => summarizeGguf(info),
    () => undefined,
  );
  return store.models.upsert(
    {
      name,
      source: "local",
      repo: null,
      revision: null,
      quant: summary?.quantization ?? null,
      format: "gguf",
      family: summary?.architecture ?? null,
      parameter_size: summary?.parameterSize ?? null,
      context_length: summary?.contextLength ?? null,
      size_bytes: bytes.length,
      digest,
      details_json: JSON.stringify({ random_weights: true, test: true }),
    },
    [{ filename: path.basename(file), digest, sizeBytes: bytes.length, path: file }],
  );
}

function safe(name: string): string {
  return name.replace(/[^a-zA-Z0-9._-]/g, "_");
}
