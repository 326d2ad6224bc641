/**
 * End-to-end generation throughput of the local engine (LocalModelService: pool, scheduler, LlamaChat on context
 * sequences), by thread count and by number of concurrent requests sharing one context. Configurations are
 * interleaved round by round, since only numbers measured side by side on a shared machine compare.
 *
 *   npx tsx bench/engine-throughput.ts                       # tiny and bench60m, threads 1,2, concurrency 1,4
 *   npx tsx bench/engine-throughput.ts --models tiny --threads 1,2 --concurrency 1,2,4 --tokens 64 --rounds 3
 *
 * Prints, per configuration, the median over rounds of: aggregate tokens/s (all requests' output tokens over the
 * wall time of the round) and mean time to first token.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/config/config.js";
import { collectChat } from "../src/daemon/core/chat.js";
import { leaseLlama } from "../src/daemon/engine/llama-runtime.js";
import { LocalModelService } from "../src/daemon/engine/local-model-service.js";
import { Store } from "../src/daemon/store/store.js";
import { silentLogger } from "../src/observability/logger.js";
import { addTestModel } from "../test/helpers/models.js";
import { BENCH_PRESETS } from "./make-model.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "tiny,bench60m" },
    threads: { type: "string", default: "1,2" },
    concurrency: { type: "string", default: "1,4" },
    tokens: { type: "string", default: "64" },
    rounds: { type: "string", default: "3" },
  },
});
const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
const numbers = (s: string) => list(s).map(Number);

interface Config {
  model: string;
  threads: number;
  concurrency: number;
  service: LocalModelService;
  tps: number[];
  ttft: number[];
}

const dir = await mkdtemp(join(tmpdir(), "mlxm-bench-engine-"));
const store = await Store.open(":memory:");
const hold = leaseLlama({ threads: 1 });
const configs: Config[] = [];
try {
  for (const model of list(values.models)) {
    const preset = BENCH_PRESETS[model];
    if (!preset) throw new Error(`unknown model preset ${model}`);
    await addTestModel(store, model, { ...preset, dir, seed: 1 });
  }
  for (const model of list(values.models)) {
    for (const threads of numbers(values.threads)) {
      for (const concurrency of numbers(values.concurrency)) {
        const engine = resolveConfig({}, {
          MLXM_HOME: dir,
          MLXM_THREADS: String(threads),
          MLXM_NUM_PARALLEL: String(concurrency),
          MLXM_CONTEXT_SIZE: "1024",
          MLXM_KEEP_ALIVE: "-1",
        }).engine;
        const service = new LocalModelService({ store, engine, logger: silentLogger(), totalMemoryBytes: 16 * 2 ** 30 });
        configs.push({ model, threads, concurrency, service, tps: [], ttft: [] });
      }
    }
  }
  const tokens = Number(values.tokens);
  const run = async (c: Config, seed: number) => {
    const started = performance.now();
    // The shared binding's thread budget follows the service's; set it before every round.
    (await hold.llama()).maxThreads = c.threads;
    const results = await Promise.all(
      Array.from({ length: c.concurrency }, (_, i) =>
        collectChat(
          c.service.chat(
            { model: c.model, messages: [{ role: "user", content: "Tell me a story." }], sampling: { maxTokens: tokens, seed: seed * 100 + i } },
            new AbortController().signal,
          ),
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const output = results.reduce((sum, r) => sum + r.usage.outputTokens, 0);
    const ttft = results.reduce((sum, r) => sum + (r.timings?.timeToFirstTokenMs ?? 0), 0) / results.length;
    return { tps: output / seconds, ttft };
  };
  for (const c of configs) await run(c, 0); // warm-up: loads the model
  const rounds = Number(values.rounds);
  for (let round = 1; round <= rounds; round++) {
    const order = [...configs.slice(round % configs.length), ...configs.slice(0, round % configs.length)];
    for (const c of order) {
      const r = await run(c, round);
      c.tps.push(r.tps);
      c.ttft.push(r.ttft);
    }
  }
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(1)).join(" ")}; ${tokens} tokens per request, ${rounds} rounds`);
  console.log("model      threads  concurrent  tokens/s (aggregate)  ttft ms (mean)");
  for (const c of configs) {
    console.log(
      `${c.model.padEnd(10)} ${String(c.threads).padStart(7)}  ${String(c.concurrency).padStart(10)}  ${median(c.tps).toFixed(0).padStart(20)}  ${median(c.ttft).toFixed(1).padStart(14)}`,
    );
  }
} finally {
  for (const c of configs) await c.service.dispose();
  await hold.release();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}
