/**
 * Soak: N concurrent clients against a real `mlxm serve` (the built CLI, its own process and home) on the built-in
 * model, a mixed workload: OpenAI, Anthropic and Ollama requests, streamed and not, a third of the streaming clients
 * disconnecting mid-stream, some requests that fail on purpose (unknown model, bad JSON) and read endpoints.
 * Reports errors besides deliberate 429s and the deliberate failures, whether any sequence is left busy, and the
 * daemon's memory, sampled every second: RSS (from /proc), V8 heap used and external memory (from /metrics), for the
 * first 10 s after warm-up and the last 10 s of load, and the growth per 1,000 requests between the two.
 *
 *   npm run build && npx tsx bench/soak.ts [--clients 32] [--seconds 60 | --requests 20000] [--warmup 1000]
 *     [--node-flags "--max-semi-space-size=64"]   V8 flags for the daemon
 *     [--snapshots DIR]   also write heap snapshots there after warm-up and at the end (diff them with
 *                         bench/heap-diff.ts); a snapshot's own buffers stay in RSS, so read RSS from a run without

 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const stringArg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const CLIENTS = arg("clients", 32);
const SECONDS = arg("seconds", 60);
const REQUESTS = arg("requests", 0);
const WARMUP = arg("warmup", 1000);
const SNAPSHOTS = stringArg("snapshots");
/** V8 flags for the daemon (e.g. "--max-semi-space-size=64"), to compare GC settings side by side. */
const DAEMON_NODE_FLAGS = stringArg("node-flags")?.split(" ").filter(Boolean) ?? [];
const PORT = arg("port", 10555);
const RUN_JS = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const base = `http://127.0.0.1:${PORT}`;

const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** V8 heap used and external (Buffer) memory, from the daemon's own /metrics. */
async function jsMemoryMiB(): Promise<{ heap: number; external: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { heap: read("mlxm_nodejs_heap_size_used_bytes"), external: read("mlxm_nodejs_external_memory_bytes") };
}

interface Sample {
  requests: number;
  rss: number;
  heap: number;
  external: number;
}

/**
 * A phase's memory: its median RSS and external memory, and its lowest heap used (the heap between collections
 * is mostly garbage; the low points are what survives).
 */
function summarize(samples: Sample[]) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return {
    requests: samples[0]?.requests ?? 0,
    rss: median(samples.map((s) => s.rss)),
    heap: Math.min(...samples.map((s) => s.heap)),
    external: median(samples.map((s) => s.external)),
  };
}

/** One kind of request: how to send it and whether it streams. `fails` marks deliberate 4xx answers. */
interface Kind {
  name: string;
  path: string;
  body: (id: number) => unknown;
  stream: boolean;
  fails?: number;
  method?: string;
}

const chat = (id: number) => [{ role: "user", content: `hello ${id}` }];
const KINDS: Kind[] = [
  { name: "openai stream", path: "/v1/chat/completions", stream: true, body: (id) => ({ model: "mlxm-tiny", stream: true, max_tokens: 24, messages: chat(id) }) },
  { name: "openai", path: "/v1/chat/completions", stream: false, body: (id) => ({ model: "mlxm-tiny", max_tokens: 16, messages: chat(id) }) },
  { name: "anthropic stream", path: "/v1/messages", stream: true, body: (id) => ({ model: "mlxm-tiny", stream: true, max_tokens: 24, messages: chat(id) }) },
  { name: "anthropic", path: "/v1/messages", stream: false, body: (id) => ({ model: "mlxm-tiny", max_tokens: 16, messages: chat(id) }) },
  { name: "ollama chat stream", path: "/api/chat", stream: true, body: (id) => ({ model: "mlxm-tiny", options: { num_predict: 24 }, messages: chat(id) }) },
  { name: "ollama generate", path: "/api/generate", stream: false, body: (id) => ({ model: "mlxm-tiny", stream: false, prompt: `hi ${id}`, options: { num_predict: 16 } }) },
  // Each unknown name is new: a per-name cache or label set would grow with these.
  { name: "unknown model", path: "/v1/chat/completions", stream: false, fails: 404, body: (id) => ({ model: `nope-${id}-${Math.random()}`, messages: chat(id) }) },
  { name: "bad json", path: "/api/chat", stream: false, fails: 400, body: () => "{not json" },
  { name: "ps", path: "/api/ps", stream: false, method: "GET", body: () => undefined },
  { name: "models", path: "/v1/models", stream: false, method: "GET", body: () => undefined },
];

async function main() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-soak-"));
  if (SNAPSHOTS) fs.mkdirSync(SNAPSHOTS, { recursive: true });
  const daemon = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...(SNAPSHOTS ? ["--heapsnapshot-signal=SIGUSR2"] : []), RUN_JS, "serve"], {
    cwd: SNAPSHOTS ?? home,
    env: { ...process.env, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${PORT}`, MLXM_TRACE: "true", UV_THREADPOOL_SIZE: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  /** A heap snapshot (after a full GC), named `label`; the daemon answers again once the file is complete. */
  const snapshot = async (label: string) => {
    if (!SNAPSHOTS) return NaN;
    const before = new Set(fs.readdirSync(SNAPSHOTS));
    const written = () => fs.readdirSync(SNAPSHOTS).find((f) => !before.has(f));
    daemon.kill("SIGUSR2");
    for (let i = 0; i < 600 && !written(); i++) await sleep(100);
    while (!(await fetch(`${base}/api/health`).then((r) => r.ok, () => false))) await sleep(100);
    const file = written();
    if (file) fs.renameSync(path.join(SNAPSHOTS, file), path.join(SNAPSHOTS, `${label}.heapsnapshot`));
    // The snapshot's full GC leaves only what is live: the one heap figure that does not depend on GC timing.
    return (await jsMemoryMiB()).heap;
  };
  try {
    for (let deadline = Date.now() + 180_000; ; await sleep(250)) {
      const ok = await fetch(`${base}/api/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("daemon did not start");
    }
    const counts = { ok: 0, aborted: 0, rateLimited: 0, deliberate: 0, errors: 0 };
    const done = () => counts.ok + counts.aborted + counts.rateLimited + counts.deliberate + counts.errors;
    const errorSamples: string[] = [];
    let sent = 0;

    const one = async (id: number, kind: Kind, disconnects: boolean) => {
      const controller = new AbortController();
      try {
        const body = kind.body(id);
        const res = await fetch(`${base}${kind.path}`, {
          method: kind.method ?? "POST",
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
          signal: controller.signal,
        });
        if (res.status === 429) {
          counts.rateLimited++;
          await res.body?.cancel();
          await sleep(Number(res.headers.get("retry-after") ?? 1) * 100);
          return;
        }
        if (kind.fails && res.status === kind.fails) {
          counts.deliberate++;
          await res.text();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`${kind.name}: HTTP ${res.status}: ${await res.text()}`);
        const reader = res.body.getReader();
        let chunks = 0;
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
          if (disconnects && kind.stream && ++chunks === 3) {
            controller.abort();
            break;
          }
        }
        if (disconnects && kind.stream && chunks >= 3) counts.aborted++;
        else counts.ok++;
      } catch (err) {
        if (controller.signal.aborted) {
          counts.aborted++;
          return;
        }
        counts.errors++;
        if (errorSamples.length < 5) errorSamples.push((err as Error).message.slice(0, 200));
      }
    };

    const samples: Sample[] = [];
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(async () => {
        const rss = rssMiB(daemon.pid!);
        const js = await jsMemoryMiB().catch(() => ({ heap: NaN, external: NaN }));
        samples.push({ requests: done(), rss, ...js });
        if (samples.length % 30 === 0) console.error(`${done()} requests, RSS ${rss.toFixed(0)} MiB, heap ${js.heap.toFixed(1)} MiB`);
      });
    }, 1000);

    const start = Date.now();
    const end = start + SECONDS * 1000;
    const more = () => (REQUESTS ? sent < REQUESTS : Date.now() < end);
    let paused: Promise<void> | undefined;
    let loadStart = 0;
    let liveEarly = NaN;
    const client = async (id: number) => {
      const disconnects = id % 3 === 0;
      while (more()) {
        if (paused) await paused;
        const n = sent++;
        if (n === WARMUP) {
          // Every client waits while the early snapshot is taken: it sees no request in flight.
          paused = (async () => {
            while (done() < WARMUP) await sleep(50);
            liveEarly = await snapshot("early");
            loadStart = samples.length;
          })();
          await paused;
          paused = undefined;
        }
        await one(n, KINDS[(n + id) % KINDS.length]!, disconnects);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    const seconds = (Date.now() - start) / 1000;
    clearInterval(sampler);
    await sampling;
    const loadSamples = samples.slice(loadStart);
    const early = summarize(loadSamples.slice(0, 10));
    const late = summarize(loadSamples.slice(-10));
    // Let deferred work (batched span exports, usage rows) finish before the late snapshot.
    await sleep(5_000);
    const liveLate = await snapshot("late");

    const ps = (await (await fetch(`${base}/api/ps`)).json()) as { models: { active_requests: number; queued_requests: number }[] };
    const busy = ps.models.reduce((n, m) => n + m.active_requests + m.queued_requests, 0);
    const perK = (a: number, b: number) => (((b - a) / Math.max(1, late.requests - early.requests)) * 1000).toFixed(2);

    const rows: [string, string][] = [
      ["clients (disconnecting)", `${CLIENTS} (${Math.ceil(CLIENTS / 3)})`],
      ["duration", `${seconds.toFixed(0)} s`],
      ["requests", String(sent)],
      ["completed", String(counts.ok)],
      ["disconnected mid-stream", String(counts.aborted)],
      ["deliberate 4xx", String(counts.deliberate)],
      ["429 (deliberate)", String(counts.rateLimited)],
      ["errors", String(counts.errors)],
      ["sequences busy after", String(busy)],
      ["requests at early / late window", `${early.requests} / ${late.requests}`],
      ["RSS early / late (MiB)", `${early.rss.toFixed(0)} / ${late.rss.toFixed(0)}`],
      ["heap used early / late (MiB)", `${early.heap.toFixed(1)} / ${late.heap.toFixed(1)}`],
      ["external early / late (MiB)", `${early.external.toFixed(1)} / ${late.external.toFixed(1)}`],
      ["RSS growth per 1k requests (MiB)", perK(early.rss, late.rss)],
      ["heap growth per 1k requests (MiB)", perK(early.heap, late.heap)],
      ...(SNAPSHOTS
        ? ([
            ["live heap after full GC, early / end (MiB)", `${liveEarly.toFixed(1)} / ${liveLate.toFixed(1)}`],
            ["live heap growth per 1k requests (MiB)", (((liveLate - liveEarly) / Math.max(1, sent - WARMUP)) * 1000).toFixed(3)],
            ["snapshots", SNAPSHOTS],
          ] as [string, string][])
        : []),
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    if (errorSamples.length) console.log(`error samples:\n  ${errorSamples.join("\n  ")}`);
  } finally {
    daemon.kill("SIGTERM");
    await new Promise((r) => daemon.once("exit", r));
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await main();
