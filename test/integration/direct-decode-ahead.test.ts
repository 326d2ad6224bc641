/**
 * Decoding ahead (engine/direct-decode.ts), driven at the sequence level on real node-llama-cpp: the lean loop
 * starts decoding each token before handing it out, and what comes out must be what node-llama-cpp's own loop gives
 * for the same calls, token for token, including when the caller replaces a token, when another sequence decodes
 * while a token is being decoded ahead, and when the caller stops with a token decoded ahead (the sequence then holds
 * it, and going on from there gives the same tokens).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { directDecodeStats, installDirectDecode } from "../../src/daemon/engine/direct-decode.js";
import { writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";

const PROMPT = "The keeper of the lighthouse found a map under the stairs, and";

describe("direct decode: decoding ahead (real node-llama-cpp)", function () {
  let hold: LlamaLease;
  let model: LlamaModel;
  let dir: string;
  let lean: LlamaContext;
  let classic: LlamaContext;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlxm-decode-ahead-"));
    const path = join(dir, "tiny.gguf");
    await writeTinyLlama(path, { seed: 11 });
    hold = leaseLlama({ threads: 1 });
    model = await (await hold.llama()).loadModel({ modelPath: path });
  });

  beforeEach(async () => {
    lean = await model.createContext({ contextSize: 256, sequences: 2, threads: 1 });
    classic = await model.createContext({ contextSize: 256, sequences: 2, threads: 1 });
  });

  afterEach(async () => {
    await lean?.dispose();
    await classic?.dispose();
  });

  after(async () => {
    await model?.dispose();
    await hold?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A sequence on the lean loop that counts itself alone whatever the context's other sequence does. */
  function leanSequence(): LlamaContextSequence {
    const sequence = lean.getSequence();
    expect(installDirectDecode(sequence, { alone: () => true })).to.equal(true);
    return sequence;
  }

  /**
   * Takes `count` tokens from `sequence.evaluate(tokens)` greedily, calling `between(i)` before asking for token i+1
   * (it may return a replacement to pass on), and stops the generator after the last.
   */
  async function take(
    sequence: LlamaContextSequence,
    tokens: Token[],
    count: number,
    between: (i: number, token: Token) => Promise<Token | undefined> | Token | undefined = () => undefined,
  ): Promise<Token[]> {
    const generator = sequence.evaluate(tokens, { temperature: 0 });
    const out: Token[] = [];
    let passOn: Token | undefined;
    while (out.length < count) {
      const step = await generator.next(passOn);
      if (step.done) break;
      out.push(step.value);
      passOn = out.length < count ? await between(out.length - 1, step.value) : undefined;
    }
    await generator.return();
    return out;
  }

  it("decodes each token ahead and gives node-llama-cpp's tokens; a token decoded ahead stays in the sequence", async () => {
    const prompt = model.tokenize(PROMPT);
    const ahead = directDecodeStats.ahead;
    const sequence = leanSequence();
    const got = await take(sequence, prompt, 20);
    const reference = classic.getSequence();
    expect(got).to.deep.equal(await take(reference, prompt, 20));
    expect(directDecodeStats.ahead - ahead).to.be.at.least(19);

    // The last token was decoded ahead: the lean sequence holds it, node-llama-cpp's does not. Going on from the
    // same point gives the same tokens (the cache holds what the token list says).
    expect(sequence.contextTokens).to.deep.equal([...prompt, ...got]);
    expect(reference.contextTokens).to.deep.equal([...prompt, ...got.slice(0, -1)]);
    await sequence.eraseContextTokenRanges([{ start: sequence.nextTokenIndex - 1, end: sequence.nextTokenIndex }]);
    expect(await take(sequence, [got.at(-1)!], 10)).to.deep.equal(await take(reference, [got.at(-1)!], 10));
  });

  it("erases a token decoded ahead when the caller goes on from another one", async () => {
    const prompt = model.tokenize(PROMPT);
    const takenBack = directDecodeStats.takenBack;
    // At the fifth token, the caller asks to go on from a different token than the one sampled.
    const replace = (i: number, token: Token) => (i === 4 ? ((token + 7) % 200) + 3 : undefined) as Token | undefined;
    const got = await take(leanSequence(), prompt, 16, replace);
    expect(got).to.deep.equal(await take(classic.getSequence(), prompt, 16, replace));
    expect(directDecodeStats.takenBack - takenBack).to.equal(1);
  });

  it("decodes a token again when another sequence decoded while it was being decoded ahead", async () => {
    const prompt = model.tokenize(PROMPT);
    const takenBack = directDecodeStats.takenBack;
    const sequence = leanSequence();
    const other = lean.getSequence();
    // While the lean sequence's sixth token is being decoded ahead, the context's other sequence evaluates a prompt
    // (node-llama-cpp's loop): its output replaces the lean sequence's in the context.
    const interfere = async (i: number) => {
      if (i === 5) await other.evaluateWithoutGeneratingNewTokens(model.tokenize("An unrelated prompt on the other sequence."));
      return undefined;
    };
    const got = await take(sequence, prompt, 16, interfere);
    expect(got).to.deep.equal(await take(classic.getSequence(), prompt, 16));
    expect(directDecodeStats.takenBack - takenBack).to.equal(1);
    expect(sequence.contextTokens).to.deep.equal([...prompt, ...got]);
  });
});
