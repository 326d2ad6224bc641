/**
 * The batch thread budget on a real node-llama-cpp context: a decode of several tokens runs with the batch budget,
 * a one-token decode with the context's own (read back from llama.cpp with `currentThreads`).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { budgetThreadsByBatch } from "../../src/daemon/engine/batch-threads.js";
import { writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";

describe("batch thread budget (real node-llama-cpp)", function () {
  let llama: Llama;
  let model: LlamaModel;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlxm-batch-threads-"));
    const path = join(dir, "tiny.gguf");
    await writeTinyLlama(path, {});
    llama = await getLlama({ build: "never", gpu: false, maxThreads: 1, logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: path });
  });

  after(async () => {
    await model?.dispose();
    await llama?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function threadsAfter(context: LlamaContext): Promise<{ prompt: number; step: number }> {
    const sequence = context.getSequence();
    await sequence.evaluateWithoutGeneratingNewTokens(model.tokenize("a prompt of several tokens for one batch"));
    const prompt = context.currentThreads;
    await sequence.evaluateWithoutGeneratingNewTokens(model.tokenize("x").slice(0, 1));
    return { prompt, step: context.currentThreads };
  }

  it("decodes a prompt with the batch budget and a single token with the context's threads", async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
    try {
      expect(budgetThreadsByBatch(context, 2)).to.equal(true);
      expect(await threadsAfter(context)).to.deep.equal({ prompt: 2, step: 1 });
    } finally {
      await context.dispose();
    }
  });

  it("leaves a context without the budget at its own threads", async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
    try {
      expect(await threadsAfter(context)).to.deep.equal({ prompt: 1, step: 1 });
    } finally {
      await context.dispose();
    }
  });

  it("wraps nothing when node-llama-cpp's internals are not the expected ones", () => {
    const fake = { _ctx: { initBatch: 1 } } as unknown as LlamaContext;
    expect(budgetThreadsByBatch(fake, 2)).to.equal(false);
  });
});
