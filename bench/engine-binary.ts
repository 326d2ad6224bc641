/**
 * node-llama-cpp's prebuilt llama.cpp binary against a local build (`mlxm engine build`), same model, threads and
 * greedy sampling, without HTTP or the daemon: prompt evaluation and decode rates through node-llama-cpp's own
 * sequence API. The binary is chosen per node_modules, so each side is a worker process started in a tree of its
 * own; the two take turns round by round (order swapped every round), and the table gives per-round ratios' median,
 * since only numbers measured side by side on a shared machine compare.
 *
 *   npx tsx bench/engine-binary.ts --a local=. --b prebuilt=/tmp/pb [--model bench60m] [--threads 1] [--tokens 128] [--prompt-tokens 256] [--rounds 8]
 *
 * A tree is any folder whose node_modules resolves node-llama-cpp: this checkout (with a local build present), or a
 * copy of node_modules with node-llama-cpp's `llama/localBuilds` left out (prebuilt only).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { parseArgs } from "node:util";
import { ensureBenchModel } from "./make-model.js";

const { values } = parseArgs({
  options: {
    a: { type: "string", default: "local=." },
    b: { type: "string", default: "prebuilt=/tmp/pb" },
    model: { type: "string", default: "bench60m" },
    threads: { type: "string", default: "1" },
    tokens: { type: "string", default: "128" },
    "prompt-tokens": { type: "string", default: "256" },
    rounds: { type: "string", default: "8" },
  },
});

/** Runs in each tree: loads the model once, then per "go" line evaluates a prompt and decodes, and reports rates. */
const WORKER = `
import readline from "node:readline";
import { pathToFileURL } from "node:url";
const [tree, modelPath, threads, tokens, promptTokens] = process.argv.slice(2);
const { getLlama } = await import(pathToFileURL(tree + "/node_modules/node-llama-cpp/dist/index.js").href);
const llama = await getLlama({ build: "never", gpu: false, maxThreads: Number(threads), logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 4096, sequences: 1, threads: Number(threads) });
const sequence = context.getSequence();
const words = "the keeper of the lighthouse found a map under the stairs and followed it along the coast ".repeat(200);
const prompt = model.tokenize(words).slice(0, Number(promptTokens));
console.log(JSON.stringify({ ready: true, binary: llama.buildType, cpu: llama.systemInfo }));
for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line !== "go") break;
  await sequence.clearHistory();
  const t0 = performance.now();
  let first = 0, n = 0;
  for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    if (n === 0) first = performance.now();
    if (++n >= Number(tokens)) break;
  }
  const end = performance.now();
  console.log(JSON.stringify({ promptTokensPerSecond: prompt.length / ((first - t0) / 1000), decodeTokensPerSecond: (n - 1) / ((end - first) / 1000) }));
}
await context.dispose();
await model.dispose();
await llama.dispose();
`;

interface Side {
  label: string;
  tree: string;
  child: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  info: { binary: string; cpu: string };
  prompt: number[];
  decode: number[];
}

function parseSide(spec: string): { label: string; tree: string } {
  const [label, tree] = spec.split("=");
  return { label: label!, tree: path.resolve(tree ?? ".") };
}

async function startSide({ label, tree }: { label: string; tree: string }, modelPath: string): Promise<Side> {
  // A file, not `node -e`: node-llama-cpp tests a binary in a child started with this process's exec arguments.
  const child = spawn(process.execPath, [WORKER_FILE, tree, modelPath, values.threads, values.tokens, values["prompt-tokens"]], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${label}: worker exited (code ${child.exitCode})`);
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const info = (await next()) as { binary: string; cpu: string };
  return { label, tree, child, next, info, prompt: [], decode: [] };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const f = (x: number, d = 1) => x.toFixed(d);

const WORKER_FILE = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "engine-binary-")), "worker.mjs");
fs.writeFileSync(WORKER_FILE, WORKER);
const model = await ensureBenchModel(values.model, path.join(os.homedir(), ".cache", "mlxm-bench", "models", `${values.model}.gguf`));
const sides = [await startSide(parseSide(values.a), model.path), await startSide(parseSide(values.b), model.path)];
const [a, b] = sides as [Side, Side];
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const side of round % 2 === 0 ? [a, b] : [b, a]) {
      side.child.stdin!.write("go\n");
      const r = (await side.next()) as { promptTokensPerSecond: number; decodeTokensPerSecond: number };
      side.prompt.push(r.promptTokensPerSecond);
      side.decode.push(r.decodeTokensPerSecond);
    }
  }
} finally {
  for (const side of sides) side.child.stdin!.end();
  fs.rmSync(path.dirname(WORKER_FILE), { recursive: true, force: true });
}
const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!));
console.log(`\n# llama.cpp binaries: ${values.model}, ${values.threads} thread(s), ${values["prompt-tokens"]}-token prompt, ${values.tokens} tokens greedy, ${values.rounds} rounds (${os.availableParallelism()} cores, load ${f(os.loadavg()[0]!)})\n`);
console.log("| binary | loaded | CPU features | prompt tok/s | decode tok/s |\n|---|---|---|---|---|");
for (const s of sides) console.log(`| ${s.label} | ${s.info.binary} | ${s.info.cpu.replace(/\s*\|\s*$/, "").replaceAll("|", "\\|")} | ${f(median(s.prompt))} | ${f(median(s.decode))} |`);
console.log(`| ${a.label} ÷ ${b.label} (median of per-round ratios) | | | ${f(ratio(a.prompt, b.prompt), 3)} | ${f(ratio(a.decode, b.decode), 3)} |`);
