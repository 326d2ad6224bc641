/**
 * Structured output costs: (1) compiling the schema corpus of test/fixtures/schemas into GBNF, into llama.cpp
 * grammars, and a cache hit; (2) generation throughput with a schema grammar against none, on the same model,
 * prompt, seed and token budget, configurations interleaved round by round (only numbers measured side by side on a
 * shared machine compare). The schemas used for throughput never finish early on a random model (a free string, an
 * open list of bounded integers), so every run writes the full budget.
 *
 *   npx tsx bench/structured-output.ts                          # built-in tiny model, 256 tokens, 5 rounds
 *   npx tsx bench/structured-output.ts --models tiny,bench60m --tokens 128 --rounds 3
 */
import { mkdtempSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { LlamaCompletion, type LlamaGrammar } from "node-llama-cpp";
import { BUILTIN_MODEL_OPTIONS } from "../src/daemon/engine/builtin-model.js";
import { writeTinyLlama } from "../src/daemon/engine/gguf/index.js";
import { compileJsonSchema } from "../src/daemon/engine/grammar/json-schema-compiler.js";
import { SchemaGrammars } from "../src/daemon/engine/grammar/schema-grammars.js";
import { leaseLlama } from "../src/daemon/engine/llama-runtime.js";
import { enforcedCorpus } from "../test/helpers/schema-corpus.js";
import { BENCH_PRESETS } from "./make-model.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "tiny" },
    tokens: { type: "string", default: "256" },
    rounds: { type: "string", default: "5" },
  },
});
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const lease = leaseLlama({ threads: 1 });
const llama = await lease.llama();

// 1. Compile times over the corpus.
const corpus = enforcedCorpus();
let t = performance.now();
const texts = corpus.map(({ schema }) => compileJsonSchema(schema));
const gbnfMs = performance.now() - t;
t = performance.now();
for (const grammar of texts) await llama.createGrammar({ grammar });
const llamaMs = performance.now() - t;
const cache = new SchemaGrammars();
for (const { schema } of corpus) cache.schema(schema, "p"); // fills the cache (compiles GBNF and ajv validators)
t = performance.now();
for (const { schema } of corpus) cache.schema(schema, "p");
const hitMs = performance.now() - t;
const compileTable = new Table({ head: ["stage", `total ms (${corpus.length} schemas)`, "mean ms / schema"] });
for (const [stage, ms] of [["JSON Schema → GBNF", gbnfMs], ["GBNF → llama.cpp grammar", llamaMs], ["cache hit (hash + lookup)", hitMs]] as const) {
  compileTable.push([stage, ms.toFixed(1), (ms / corpus.length).toFixed(3)]);
}
console.log(compileTable.toString());

// 2. Throughput with and without a schema.
const schemas = {
  none: undefined,
  "free string": { type: "object", properties: { text: { type: "string" } }, required: ["text"], additionalProperties: false },
  "int list": { type: "array", items: { type: "integer", minimum: 0, maximum: 1000 } },
};
const modelOptions: Record<string, object> = { tiny: BUILTIN_MODEL_OPTIONS, ...BENCH_PRESETS };
const table = new Table({ head: ["model", "schema", "tokens/s (median)", "vs none"] });
for (const name of values.models.split(",")) {
  const file = join(mkdtempSync(join(tmpdir(), "mlxm-bench-so-")), `${name}.gguf`);
  await writeTinyLlama(file, modelOptions[name === "tiny" ? "tiny" : name] as Parameters<typeof writeTinyLlama>[1]);
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 1024, threads: 1 });
  const sequence = context.getSequence();
  const grammars = new Map<string, LlamaGrammar | undefined>();
  for (const [label, schema] of Object.entries(schemas)) grammars.set(label, schema ? await llama.createGrammar({ grammar: compileJsonSchema(schema) }) : undefined);
  const rates = new Map<string, number[]>([...grammars.keys()].map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [label, grammar] of grammars) {
      const completion = new LlamaCompletion({ contextSequence: sequence });
      const meter = sequence.tokenMeter.getState();
      const started = performance.now();
      await completion.generateCompletion("Data:", { maxTokens: tokens, seed: round + 1, temperature: 0.8, ...(grammar ? { grammar } : {}) });
      const elapsed = performance.now() - started;
      const out = sequence.tokenMeter.diff(meter).usedOutputTokens;
      completion.dispose();
      await sequence.clearHistory();
      rates.get(label)!.push((out * 1000) / elapsed);
    }
  }
  const base = median(rates.get("none")!);
  for (const [label, r] of rates) table.push([name, label, median(r).toFixed(0), `${((median(r) / base) * 100).toFixed(0)} %`]);
  await context.dispose();
  await model.dispose();
}
console.log(table.toString());
console.log(`tokens ${tokens}, rounds ${rounds}, 1 thread, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
await lease.release();
