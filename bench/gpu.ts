/**
 * Issue #17's benchmark: the same model on the same machine with MLXM_GPU=off and MLXM_GPU=auto, side by side in ONE
 * run (the daemons take turns round by round), through the OpenAI API with the official SDK. Runs as is on any
 * machine: where there is no GPU, `auto` falls back to the CPU and both rows should match (that is the check that
 * the default costs nothing there).
 *
 *   npx tsx bench/gpu.ts [--model file.gguf | --preset bench60m] [--tokens 128] [--rounds 3] [--streams 4] [--ctx 4096]
 *
 * Reading the table: `backend` and `layers` say what `auto` chose (from /api/ps: layers on the GPU / all layers);
 * TTFT is the median time to the first streamed token of a single request; `tok/s` is the median decode rate of a
 * single stream, `N streams` the aggregate tokens/s of N concurrent streams; the last rows are auto ÷ off.
 * No network is needed: without --model a random-weight model is generated (speed does not depend on the weights).
 */
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { ensureBenchModel } from "./make-model.js";
import { startBenchDaemon, type BenchDaemon } from "./mlxm-daemon.js";
import { streamSample, type StreamSample } from "./stream-sample.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    preset: { type: "string", default: "bench60m" },
    tokens: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    streams: { type: "string", default: "4" },
    ctx: { type: "string", default: "4096" },
  },
});
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const STREAMS = Number(values.streams);
const PROMPT = "Write a long story about a lighthouse keeper who finds a map.";

interface Sample {
  ttftMs: number;
  tokensPerSecond: number;
}

function stream(client: OpenAI, model: string): Promise<StreamSample> {
  return streamSample(client, model, PROMPT, TOKENS);
}

async function concurrent(client: OpenAI, model: string, n: number): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: n }, () => stream(client, model)));
  return (results.reduce((a, r) => a + r.tokens, 0) / (performance.now() - started)) * 1000;
}

const modelPath = values.model
  ? path.resolve(values.model)
  : (await ensureBenchModel(values.preset, path.join(os.homedir(), ".cache", "mlxm-bench", "models", `${values.preset}.gguf`))).path;
const models = [{ name: "bench", path: modelPath }];
const env = { MLXM_CONTEXT_SIZE: values.ctx, MLXM_NUM_PARALLEL: String(Math.max(STREAMS, 1)) };

const variants: { gpu: string; daemon: BenchDaemon; client: OpenAI; single: Sample[]; multi: number[]; where: string; backend: string }[] = [];
for (const gpu of ["off", "auto"]) {
  const daemon = await startBenchDaemon(models, { ...env, MLXM_GPU: gpu });
  const client = new OpenAI({ baseURL: `${daemon.url}/v1`, apiKey: "unused", maxRetries: 0 });
  await stream(client, "bench"); // load and warm up
  const health = (await (await fetch(`${daemon.url}/api/health`)).json()) as { accelerator?: { backend: string; devices: string[] } };
  const ps = (await (await fetch(`${daemon.url}/api/ps`)).json()) as { models: { offload?: { gpu_layers: number; total_layers: number } }[] };
  const offload = ps.models[0]?.offload;
  variants.push({
    gpu,
    daemon,
    client,
    single: [],
    multi: [],
    backend: `${health.accelerator?.backend ?? "?"}${health.accelerator?.devices.length ? ` (${health.accelerator.devices.join(", ")})` : ""}`,
    where: offload ? `${offload.gpu_layers}/${offload.total_layers}` : "?",
  });
}

try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      v.single.push(await stream(v.client, "bench"));
      v.multi.push(await concurrent(v.client, "bench", STREAMS));
    }
  }
} finally {
  for (const v of variants) await v.daemon.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "-");
const rows = variants.map((v) => ({
  ...v,
  ttft: median(v.single.map((s) => s.ttftMs)),
  tps: median(v.single.map((s) => s.tokensPerSecond)),
  multiTps: median(v.multi),
}));
const [off, auto] = rows;
console.log(`\nmodel ${path.basename(modelPath)}, ${TOKENS} tokens, ${ROUNDS} rounds, ${os.cpus().length} CPUs\n`);
console.log(`| MLXM_GPU | backend | layers on GPU | TTFT ms | tok/s (1 stream) | tok/s (${STREAMS} streams) |`);
console.log("|---|---|---|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.gpu} | ${r.backend} | ${r.where} | ${f(r.ttft)} | ${f(r.tps)} | ${f(r.multiTps)} |`);
if (off && auto) console.log(`| auto ÷ off | | | ${f(auto.ttft / off.ttft, 2)}× | ${f(auto.tps / off.tps, 2)}× | ${f(auto.multiTps / off.multiTps, 2)}× |`);
