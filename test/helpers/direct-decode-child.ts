/**
 * The lean decode loop against node-llama-cpp's own, in a process of its own: libuv sizes its thread pool from
 * `UV_THREADPOOL_SIZE` once per process, and the loop chains sampling behind decoding only while the pool runs one job
 * at a time: a single-thread pool, or one parked down to a thread (engine/direct-decode.ts, engine/pool-parking.ts).
 * Usage: `UV_THREADPOOL_SIZE=1 node --import tsx test/helpers/direct-decode-child.ts` (`MLXM_POOL_PARKING=false`: no
 * parking). Prints one JSON line: for each case the tokens of both loops, the loop's counters and parking's.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaGrammarEvaluationState, type LlamaContextSequence, type SequenceEvaluateOptions, type Token } from "node-llama-cpp";
import { directDecodeStats, installDirectDecode } from "../../src/daemon/engine/direct-decode.js";
import { writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import { leaseLlama } from "../../src/daemon/engine/llama-runtime.js";
import { poolParking } from "../../src/daemon/engine/pool-parking.js";

/** What the child prints. */
export interface DirectDecodeChildResult {
  cases: { name: string; lean: Token[]; classic: Token[] }[];
  stats: typeof directDecodeStats;
  parking: typeof poolParking.stats & { parkedAtEnd: boolean };
}

const PROMPT = "The keeper of the lighthouse found a map under the stairs, and";

poolParking.enabled = process.env.MLXM_POOL_PARKING !== "false";
const dir = await mkdtemp(join(tmpdir(), "mlxm-decode-child-"));
const hold = leaseLlama({ threads: 1 });
try {
  const path = join(dir, "tiny.gguf");
  await writeTinyLlama(path, { seed: 11 });
  const llama = await hold.llama();
  const model = await llama.loadModel({ modelPath: path });
  const grammar = await llama.createGrammarForJsonSchema({ type: "object", properties: { name: { type: "string" }, n: { type: "integer" } }, required: ["name", "n"] });
  const prompt = model.tokenize(PROMPT);
  // Each case's options, built afresh per loop (a grammar's state and the penalty history belong to one run).
  const cases: Record<string, (generated: Token[]) => SequenceEvaluateOptions> = {
    greedy: () => ({ temperature: 0 }),
    "seeded with penalties": (generated) => ({
      temperature: 0.9, seed: 42, topK: 20,
      repeatPenalty: { punishTokens: () => generated, penalty: 1.3, frequencyPenalty: 0.4, presencePenalty: 0.2 },
    }),
    "json grammar": () => ({ temperature: 0, grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar }) }),
  };
  const result: DirectDecodeChildResult = { cases: [], stats: directDecodeStats, parking: { ...poolParking.stats, parkedAtEnd: false } };
  for (const [name, options] of Object.entries(cases)) {
    const lean = await model.createContext({ contextSize: 256, threads: 1 });
    const classic = await model.createContext({ contextSize: 256, threads: 1 });
    const sequence = lean.getSequence();
    if (!installDirectDecode(sequence, { alone: () => true })) throw new Error("lean loop not installed");
    result.cases.push({ name, lean: await generate(sequence, prompt, options), classic: await generate(classic.getSequence(), prompt, options) });
    await lean.dispose();
    await classic.dispose();
  }
  await model.dispose();
  result.parking = { ...poolParking.stats, parkedAtEnd: poolParking.parked };
  console.log(JSON.stringify(result));
} finally {
  await hold.release();
  await rm(dir, { recursive: true, force: true });
}

/** Up to 24 tokens after `prompt`. */
async function generate(sequence: LlamaContextSequence, prompt: Token[], options: (generated: Token[]) => SequenceEvaluateOptions): Promise<Token[]> {
  const generated: Token[] = [];
  for await (const token of sequence.evaluate(prompt, options(generated))) {
    generated.push(token);
    if (generated.length === 24) break;
  }
  return generated;
}
