/**
 * Property test of structured output: every corpus schema (hand-written, zod 4 and Pydantic-shaped, 200+) is
 * compiled, loaded into llama.cpp and generated from on the built-in random-weight model with several seeds; each
 * complete output must pass ajv against the original schema. The model writes noise, so validity comes from the
 * grammar alone. A token bias towards closing characters (`"`, `]`, `}`) makes generations finish: the grammar
 * decides what is allowed, the bias only which allowed token a random model prefers, so it is just another model.
 * Outputs cut at max_tokens are not judged (they are incomplete JSON), but at least 90% must complete.
 */
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LlamaCompletion, TokenBias, type LlamaContext, type LlamaModel } from "node-llama-cpp";
import { BUILTIN_MODEL_OPTIONS } from "../../src/daemon/engine/builtin-model.js";
import { writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import { compileJsonSchema } from "../../src/daemon/engine/grammar/json-schema-compiler.js";
import { compileValidator } from "../../src/daemon/engine/grammar/schema-validator.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import { enforcedCorpus } from "../helpers/schema-corpus.js";

const SEEDS = [1, 2, 3];
const MAX_TOKENS = 200;

describe("structured output corpus on the built-in model", function () {
  this.timeout(600_000);
  let lease: LlamaLease;
  let model: LlamaModel;
  let context: LlamaContext;

  before(async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "mlxm-corpus-")), "tiny.gguf");
    await writeTinyLlama(file, BUILTIN_MODEL_OPTIONS);
    lease = leaseLlama({ threads: 1 });
    const llama = await lease.llama();
    model = await llama.loadModel({ modelPath: file });
    context = await model.createContext({ contextSize: 1024, threads: 1 });
  });
  after(async () => {
    await context?.dispose();
    await model?.dispose();
    await lease?.release();
  });

  it("has at least 200 schemas", () => expect(enforcedCorpus().length).to.be.at.least(200));

  it("always writes JSON the validator accepts", async () => {
    const llama = await lease.llama();
    const sequence = context.getSequence();
    const bias = new TokenBias(model.tokenizer);
    for (const closing of ['"', "]", "}"]) bias.set(closing, { logit: 12 });
    let complete = 0;
    let runs = 0;
    const failures: string[] = [];
    for (const { name, schema } of enforcedCorpus()) {
      const grammar = await llama.createGrammar({ grammar: compileJsonSchema(schema) });
      const check = compileValidator(schema);
      for (const seed of SEEDS) {
        const completion = new LlamaCompletion({ contextSequence: sequence });
        const { response, metadata } = await completion.generateCompletionWithMeta("JSON:", { grammar, maxTokens: MAX_TOKENS, seed, temperature: 1, tokenBias: bias });
        completion.dispose();
        await sequence.clearHistory();
        runs++;
        if (metadata.stopReason !== "eogToken") continue;
        complete++;
        let result;
        try {
          result = check(JSON.parse(response));
        } catch (err) {
          result = { valid: false, error: (err as Error).message };
        }
        if (!result.valid) failures.push(`${name} seed ${seed}: ${response} (${result.error})`);
      }
    }
    expect(failures).to.deep.equal([]);
    expect(complete, `${complete} of ${runs} generations completed`).to.be.at.least(Math.ceil(runs * 0.9));
  });
});
