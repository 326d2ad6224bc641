import { expect } from "chai";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidModelError } from "../../src/daemon/engine/errors.js";
import { TINY_PRESET, readGgufFile, tinyLlamaSpec, writeGguf, writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import { LlamaModelLoader } from "../../src/daemon/engine/llama-loader.js";
import type { LoadedLlamaModel } from "../../src/daemon/engine/llama-model.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import type { EngineModelSpec } from "../../src/daemon/engine/model-spec.js";
import { ModelPool } from "../../src/daemon/engine/model-pool.js";
import { rejection } from "../helpers/rejection.js";
import { splitTinyLlama } from "../helpers/split-model.js";

function specOf(name: string, path: string): EngineModelSpec {
  const now = new Date().toISOString();
  return { name, path, sizeBytes: 0, digest: `sha256:${name}`, createdAt: now, modifiedAt: now, format: "gguf" };
}

describe("llama loader: one parse of the model file per load, kept for the next (real node-llama-cpp)", function () {
  let dir: string;
  let lease: LlamaLease;
  /** Every path mlxm's reader parsed, in order. */
  let reads: string[];
  let loader: LlamaModelLoader;
  const loaded: LoadedLlamaModel[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlxm-llama-loader-"));
    lease = leaseLlama({ threads: 1 });
    await lease.llama();
  });

  beforeEach(() => {
    reads = [];
    loader = new LlamaModelLoader({
      lease,
      threads: 1,
      contextSize: 512,
      numParallel: 1,
      readGguf: (path) => {
        reads.push(path);
        return readGgufFile(path);
      },
    });
  });

  afterEach(async () => {
    for (const model of loaded.splice(0)) await model.dispose();
  });

  after(async () => {
    await lease?.release();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the file once for the pool's estimate and load together", async () => {
    const path = join(dir, "tiny.gguf");
    await writeTinyLlama(path, { ...TINY_PRESET, seed: 1 });
    const pool = new ModelPool<EngineModelSpec, LoadedLlamaModel>({
      loader,
      maxMemoryBytes: 8 * 2 ** 30,
      maxLoadedModels: 1,
      numParallel: 1,
      maxQueue: 1,
      defaultKeepAliveMs: -1,
    });
    try {
      const model = await pool.acquire(specOf("tiny", path));
      expect(model.model.memoryBytes).to.be.greaterThan(0);
      model.release();
      expect(reads).to.deep.equal([path]);
    } finally {
      await pool.dispose();
    }
  });

  it("gives each context MLXM_FLASH_ATTENTION's setting (node-llama-cpp's own choice by default)", async () => {
    const path = join(dir, "tiny-fa.gguf");
    await writeTinyLlama(path, { ...TINY_PRESET, seed: 5 });
    const settings = [undefined, "on", "off"] as const;
    const seen: (boolean | "auto")[] = [];
    for (const flashAttention of settings) {
      const faLoader = new LlamaModelLoader({ lease, threads: 1, contextSize: 512, numParallel: 1, flashAttention });
      const model = await faLoader.load(specOf(`tiny-fa-${flashAttention}`, path));
      loaded.push(model);
      seen.push(model.context.flashAttention);
      // Either way the context decodes.
      const sequence = model.context.getSequence();
      await sequence.evaluateWithoutGeneratingNewTokens(model.model.tokenize("the lighthouse keeper"));
      sequence.dispose();
    }
    expect(seen).to.deep.equal(["auto", true, false]);
  });

  it("reads each part of a split model once", async () => {
    const parts = splitTinyLlama(2, { seed: 2 });
    const paths = parts.map((_, i) => join(dir, `split-0000${i + 1}-of-00002.gguf`));
    for (const [i, bytes] of parts.entries()) await writeFile(paths[i]!, bytes);
    const spec = specOf("split", paths[0]!);
    const estimate = await loader.estimateMemory(spec);
    expect(estimate.ramBytes).to.be.greaterThan(0);
    loaded.push(await loader.load(spec));
    expect(reads).to.deep.equal(paths);
  });

  it("reads the file once for a load without an estimate", async () => {
    const path = join(dir, "direct.gguf");
    await writeTinyLlama(path, { ...TINY_PRESET, seed: 3 });
    loaded.push(await loader.load(specOf("direct", path)));
    expect(reads).to.deep.equal([path]);
  });

  it("keeps the parse for the next load of an unchanged file, and reads a file replaced since again", async () => {
    const path = join(dir, "again.gguf");
    await writeTinyLlama(path, { ...TINY_PRESET, seed: 5 });
    const spec = specOf("again", path);
    for (let load = 0; load < 2; load++) {
      await loader.estimateMemory(spec);
      const model = await loader.load(spec);
      await model.dispose();
    }
    expect(reads).to.deep.equal([path]);

    // Replaced the way a download lands: the next load reads the new file (and a broken one is refused).
    const model = tinyLlamaSpec({ ...TINY_PRESET, seed: 5 });
    const { ["llama.attention.head_count"]: _dropped, ...metadata } = model.metadata;
    await writeGguf(`${path}.partial`, { ...model, metadata });
    await rename(`${path}.partial`, path);
    await rejection(loader.estimateMemory(spec), InvalidModelError);
    expect(reads).to.deep.equal([path, path]);
  });

  it("re-reads and refuses a file replaced between the estimate and the load, before llama.cpp sees it", async () => {
    const path = join(dir, "replaced.gguf");
    await writeTinyLlama(path, { ...TINY_PRESET, seed: 4 });
    const spec = specOf("replaced", path);
    await loader.estimateMemory(spec);

    // Replaced the way a download lands (write elsewhere, rename over): a model that would abort llama.cpp.
    const model = tinyLlamaSpec({ ...TINY_PRESET, seed: 4 });
    const { ["llama.attention.head_count"]: _dropped, ...metadata } = model.metadata;
    await writeGguf(`${path}.partial`, { ...model, metadata });
    await rename(`${path}.partial`, path);

    const err = await rejection(loader.load(spec), InvalidModelError);
    expect(err.message).to.equal(
      'model "replaced" is not a usable GGUF file: missing metadata key "llama.attention.head_count" ' +
        "(llama.cpp aborts the process without it)",
    );
    expect(reads).to.deep.equal([path, path]);
  });
});
