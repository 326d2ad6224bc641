import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaChatSession, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import {
  BENCH_60M_PRESET,
  INFILL_PIECES,
  TINY_PRESET,
  buildTinyVocab,
  readValidGgufFile,
  writeTinyLlama,
  type TinyLlamaOptions,
} from "../../src/daemon/engine/gguf/index.js";
import { infillPrompt } from "../../src/daemon/engine/infill-prompt.js";

/** What one chat prompt produced, and how many tokens it took. */
interface Generation {
  text: string;
  tokens: number;
  stopReason: string;
  wrapper: string;
}

describe("generated GGUF models in node-llama-cpp", function () {
  let llama: Llama;
  let dir: string;
  const log: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlxm-gguf-llama-"));
    // One thread: on a 2-core machine shared with other work, 2 threads were up to 8x slower for these small models.
    llama = await getLlama({
      build: "never",
      gpu: false,
      maxThreads: 1,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => log.push(`${level}: ${message.trim()}`),
    });
  });

  after(async () => {
    await llama?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function writeModel(file: string, options: TinyLlamaOptions): Promise<string> {
    const path = join(dir, file);
    await writeTinyLlama(path, options);
    await readValidGgufFile(path); // what the engine does before loading
    return path;
  }

  async function generate(modelPath: string, maxTokens: number): Promise<Generation> {
    let model: LlamaModel | undefined;
    try {
      model = await llama.loadModel({ modelPath });
      const context = await model.createContext({ contextSize: 2048, threads: 1 });
      // A short system prompt: node-llama-cpp's default one is long for a byte-level vocabulary.
      const session = new LlamaChatSession({
        contextSequence: context.getSequence(),
        systemPrompt: "You are a test model.",
      });
      let tokens = 0;
      const result = await session.promptWithMeta("Say something, anything at all.", {
        maxTokens,
        onToken: (chunk) => (tokens += chunk.length),
      });
      const wrapper = session.chatWrapper.wrapperName;
      return { text: result.responseText, tokens, stopReason: result.stopReason, wrapper };
    } catch (error) {
      throw new Error(`${(error as Error).message}\nllama.cpp log:\n${log.join("\n")}`);
    } finally {
      await model?.dispose();
    }
  }

  function expectValidUtf8(text: string): void {
    expect(text).not.to.contain("\uFFFD");
    // Lone surrogates would not survive a UTF-8 round trip.
    expect(Buffer.from(text, "utf8").toString("utf8")).to.equal(text);
  }

  for (const tensorType of ["F32", "F16", "Q8_0"] as const) {
    it(`generates 32 tokens of valid UTF-8 from a TINY_PRESET ${tensorType} model`, async () => {
      const path = await writeModel(`tiny-${tensorType}.gguf`, { ...TINY_PRESET, tensorType });
      const generation = await generate(path, 32);
      expect(generation.wrapper, "the ChatML template should resolve to the ChatML wrapper").to.equal("ChatML");
      expect(generation.stopReason, "generation stopped early").to.equal("maxTokens");
      expect(generation.tokens).to.equal(32);
      expect(generation.text.trim()).not.to.equal("");
      expectValidUtf8(generation.text);
    });
  }

  it("generates from the ~60M-parameter BENCH_60M_PRESET model", async () => {
    const path = await writeModel("bench-60m.gguf", BENCH_60M_PRESET);
    const generation = await generate(path, 16);
    expect(generation.stopReason).to.equal("maxTokens");
    expect(generation.tokens).to.equal(16);
    expect(generation.text.trim()).not.to.equal("");
    expectValidUtf8(generation.text);
  });

  it("gives a model infill tokens with `infill`, which infillPrompt lays out as [FIM_PRE] prefix [FIM_SUF] suffix [FIM_MID]", async () => {
    // Appended after the default vocabulary, in INFILL_PIECES' order: every other token keeps its id.
    const [pre, suf, mid, pad] = Object.values(INFILL_PIECES).map((_, i) => (buildTinyVocab().length + i) as Token);
    const infill = await llama.loadModel({ modelPath: await writeModel("tiny-infill.gguf", { ...TINY_PRESET, infill: true }), vocabOnly: true });
    const plain = await llama.loadModel({ modelPath: await writeModel("tiny-plain.gguf", TINY_PRESET), vocabOnly: true });
    try {
      expect(infill.tokens.infill).to.include({ prefix: pre, suffix: suf, middle: mid });
      expect(infill.isEogToken(pad!), "llama.cpp ends generation at <|fim_pad|>").to.equal(true);
      const prefix = "def add(a, b):\n";
      // Code that spells a marker stays text: only the three real special tokens are markers.
      const suffix = `\nprint("${INFILL_PIECES["tokenizer.ggml.fim_suf_token_id"]}")`;
      const tokens = infillPrompt(infill, prefix, suffix)!;
      expect([tokens[0], tokens.at(-1)]).to.deep.equal([pre, mid]);
      expect(tokens.filter((t) => t === pre || t === suf || t === mid)).to.deep.equal([pre, suf, mid]);
      const [p, s, m] = Object.values(INFILL_PIECES);
      // SentencePiece puts its space mark before each text, as llama-server's tokenizing of them does.
      expect(infill.detokenize(tokens, true)).to.equal(`${p} ${prefix}${s} ${suffix}${m}`);
      expect(infillPrompt(plain, prefix, suffix), "a model without infill tokens").to.equal(undefined);
    } finally {
      await infill.dispose();
      await plain.dispose();
    }
  });
});
