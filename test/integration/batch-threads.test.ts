/**
 * The batch thread budget on a real node-llama-cpp context: a decode of several tokens runs with the batch budget,
 * a one-token decode with the context's own (read back from llama.cpp with `currentThreads`). A prompt on the lean
 * loop of direct-decode.ts, whose request has the context to itself, runs with the prompt budget instead, and one
 * that node-llama-cpp's loop evaluates (another request is busy) keeps the batch budget.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { budgetThreadsByBatch } from "../../src/daemon/engine/batch-threads.js";
import { directDecodeStats, installDirectDecode, PROMPT_THREADS_MIN_TOKENS } from "../../src/daemon/engine/direct-decode.js";
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

  /** At least PROMPT_THREADS_MIN_TOKENS tokens, and a short one with fewer. */
  const PROMPT = "a prompt of several tokens for one batch, long enough to be worth a second thread: ".repeat(3);
  const SHORT = "a short prompt";

  /**
   * Generates three tokens after `prompt` on a fresh context with a batch budget of 3, on a sequence with the lean loop
   * (`alone` says whether its request is the only one). Returns each decode's size and threads, read as llama.cpp
   * starts it, and how many steps ran on the lean loop.
   */
  async function decodesOfGeneration(alone: boolean, promptThreads: number, prompt = PROMPT): Promise<{ decodes: { tokens: number; threads: number }[]; leanSteps: number }> {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
    try {
      expect(budgetThreadsByBatch(context, 3)).to.equal(true);
      const sequence = context.getSequence();
      expect(installDirectDecode(sequence, { alone: () => alone, promptThreads: () => promptThreads })).to.equal(true);
      const native = (context as unknown as { _ctx: { initBatch(size: number): unknown; decodeBatch(): Promise<void> } })._ctx;
      const initBatch = native.initBatch.bind(native);
      const decodeBatch = native.decodeBatch.bind(native);
      let size = 0;
      const decodes: { tokens: number; threads: number }[] = [];
      Object.defineProperties(native, {
        initBatch: { configurable: true, value: (n: number) => ((size = n), initBatch(n)) },
        decodeBatch: { configurable: true, value: () => (decodes.push({ tokens: size, threads: context.currentThreads }), decodeBatch()) },
      });
      const steps = directDecodeStats.steps;
      let generated = 0;
      for await (const token of sequence.evaluate(model.tokenize(prompt))) {
        void token;
        if (++generated === 3) break;
      }
      return { decodes, leanSteps: directDecodeStats.steps - steps };
    } finally {
      await context.dispose();
    }
  }

  it("decodes a prompt on the lean loop with the prompt budget, past the batch budget, and its tokens with the context's threads", async () => {
    const { decodes, leanSteps } = await decodesOfGeneration(true, 2);
    expect(leanSteps, "steps on the lean loop").to.be.greaterThan(0);
    expect(decodes[0]).to.deep.equal({ tokens: model.tokenize(PROMPT).length, threads: 2 });
    expect(decodes.slice(1)).to.have.length.greaterThan(0);
    for (const decode of decodes.slice(1)) expect(decode).to.deep.equal({ tokens: 1, threads: 1 });
  });

  it("keeps the batch budget for a prompt on the lean loop shorter than the prompt budget's floor", async () => {
    expect(model.tokenize(SHORT).length).to.be.within(2, PROMPT_THREADS_MIN_TOKENS - 1);
    expect(model.tokenize(PROMPT).length).to.be.at.least(PROMPT_THREADS_MIN_TOKENS);
    const { decodes } = await decodesOfGeneration(true, 2, SHORT);
    expect(decodes[0]).to.deep.equal({ tokens: model.tokenize(SHORT).length, threads: 3 });
    for (const decode of decodes.slice(1)) expect(decode).to.deep.equal({ tokens: 1, threads: 1 });
  });

  it("keeps the batch budget for a prompt that node-llama-cpp's loop evaluates beside another request", async () => {
    const { decodes, leanSteps } = await decodesOfGeneration(false, 2);
    expect(leanSteps, "steps on the lean loop").to.equal(0);
    expect(decodes[0]).to.deep.equal({ tokens: model.tokenize(PROMPT).length, threads: 3 });
    for (const decode of decodes.slice(1)) expect(decode).to.deep.equal({ tokens: 1, threads: 1 });
  });

  it("wraps nothing when node-llama-cpp's internals are not the expected ones", () => {
    const fake = { _ctx: { initBatch: 1 } } as unknown as LlamaContext;
    expect(budgetThreadsByBatch(fake, 2)).to.equal(false);
  });
});
