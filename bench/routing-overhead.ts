/**
 * What mlxm adds in front of an OpenAI-compatible upstream: time to first token and streaming throughput through a
 * real daemon (`mlxm serve`, built CLI, full observability: request row, route span, SDK instrumentation) divided by
 * the same requests sent straight to the upstream, in the same run, interleaved request by request.
 *
 *   npm run build && npx tsx bench/routing-overhead.ts                # 40 TTFT samples, 8 streams of 2000 chunks
 *   npx tsx bench/routing-overhead.ts --ttft 100 --streams 10 --chunks 4000 --pace-us 0
 *   npx tsx bench/routing-overhead.ts --baseline /tmp/old-build/bin/run.js    # a second build, in the same run
 *   npx tsx bench/routing-overhead.ts --cpu-prof /tmp/prof                    # the daemons' CPU profiles
 *   npx tsx bench/routing-overhead.ts --pace-us 10000                         # a realistic 100 tokens/s upstream
 *   npx tsx bench/routing-overhead.ts --baseline bin/run.js --baseline-env '{"NODE_OPTIONS":"--max-semi-space-size=64"}'
 *   npx tsx bench/routing-overhead.ts --floor-proxy bench/express-floor-proxy.mjs  # the bare proxy in Express as the floor
 *   npx tsx bench/routing-overhead.ts --floor-proxy "bench/express-floor-proxy.mjs --born"
 *   NODE_OPTIONS="--require $PWD/bench/critical-path-probe.cjs" npx tsx bench/routing-overhead.ts ...   # where the time goes, per process
 *
 * The upstream is a local streaming server in this process: a chunk per token, unpaced by default (the harshest case:
 * throughput is bound by the CPU mlxm spends per chunk, not by a model). Goal: <= 2 ms added TTFT, >= 0.98 throughput.
 * Anchor: LiteLLM documents 3.25 ms added latency (docs.litellm.ai/docs/proxy/perf).
 *
 * A third side, "bare Node proxy", is the floor any proxy written in Node pays on this machine: a dozen lines (an
 * http server that reads the body, rewrites `model`, sends it upstream with node:http on a kept-alive connection, the
 * cheapest client Node has, and pipes the answer back) in its own process, with no routing, auth, tracing, usage row
 * or error handling. What mlxm adds beyond it is its own cost.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { MlxmClient } from "../src/client/mlxm-client.js";
import { readAdminToken } from "../src/daemon/auth/admin-token.js";
import { freePort } from "../test/helpers/free-port.js";
import { makeTempHome } from "../test/helpers/temp-home.js";
import { RUN_JS, cliEnv } from "../test/helpers/cli.js";

const { values } = parseArgs({
  options: {
    ttft: { type: "string", default: "40" },
    streams: { type: "string", default: "8" },
    chunks: { type: "string", default: "2000" },
    "pace-us": { type: "string", default: "0" },
    /** Another build's bin/run.js, measured as a third side (before/after in one run). */
    baseline: { type: "string" },
    /** Write the daemons' CPU profiles (node --cpu-prof) into this folder. */
    "cpu-prof": { type: "string" },
    /** Extra environment (JSON) for the --baseline daemon only: the same build with a feature switched off. */
    "baseline-env": { type: "string" },
    /** A script and its arguments (`node FILE <upstream url> [args]`, printing its port) as the floor instead of the bare proxy. */
    "floor-proxy": { type: "string" },
  },
});
const TTFT_SAMPLES = Number(values.ttft);
const STREAMS = Number(values.streams);
const CHUNKS = Number(values.chunks);
const PACE_US = Number(values["pace-us"]);
/** `FILE [args...]`: run as `node FILE <upstream url> [args...]`. */
const FLOOR_PROXY = values["floor-proxy"]?.split(" ").filter(Boolean);
const BASELINE_ENV = values["baseline-env"] ? (JSON.parse(values["baseline-env"]) as Record<string, string>) : {};

/** A streaming OpenAI-compatible upstream: `max_tokens` chunks of one word, then usage and [DONE]. */
function startUpstream(): Promise<{ url: string; connections(): number; close(): void }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const { max_completion_tokens: n = 1, model, stream_options } = JSON.parse(body) as { max_completion_tokens?: number; model: string; stream_options?: { include_usage?: boolean } };
      res.writeHead(200, { "content-type": "text/event-stream" });
      // As OpenAI does: once usage is asked for (mlxm always asks), every chunk carries `"usage":null`.
      const base = { id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1, model, ...(stream_options?.include_usage ? { usage: null } : {}) };
      const send = (o: object) => res.write(`data: ${JSON.stringify({ ...base, ...o })}\n\n`);
      send({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
      for (let i = 0; i < n; i++) {
        if (!send({ choices: [{ index: 0, delta: { content: "tok " }, finish_reason: null }] })) await new Promise((r) => res.once("drain", r));
        if (PACE_US > 0) await new Promise((r) => setTimeout(r, PACE_US / 1000));
      }
      send({ choices: [{ index: 0, delta: {}, finish_reason: "length" }] });
      send({ choices: [], usage: { prompt_tokens: 5, completion_tokens: n, total_tokens: 5 + n } });
      res.end("data: [DONE]\n\n");
    });
  });
  // Each side should reuse its connections (keep-alive): a new TCP connection per request is TTFT thrown away.
  server.on("connection", () => connections++);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, connections: () => connections, close: () => server.close() }),
    ),
  );
}

async function startDaemon(home: string, port: number, runJs: string, env: Record<string, string>): Promise<ChildProcess> {
  const prof = values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : [];
  const child = spawn(process.execPath, [...prof, runJs, "serve"], { env: cliEnv({ home, port, extra: { MLXM_LOG_LEVEL: "warn", ...env } }), stdio: "ignore" });
  const client = new MlxmClient({ baseUrl: `http://127.0.0.1:${port}` });
  for (let i = 0; i < 600; i++) {
    const ok = await client.health().then((h) => h.status === "ready", () => false);
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("daemon did not start");
}

/** One streamed request: ms to the first content chunk, and content chunks per second over the whole stream. */
async function stream(client: OpenAI, model: string, tokens: number): Promise<{ ttftMs: number; chunksPerS: number }> {
  const t0 = performance.now();
  const s = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_completion_tokens: tokens, stream: true });
  let first = 0;
  let n = 0;
  for await (const c of s) {
    if (c.choices[0]?.delta.content) {
      if (!first) first = performance.now();
      n++;
    }
  }
  const end = performance.now();
  return { ttftMs: first - t0, chunksPerS: (n * 1000) / (end - t0) };
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc (Linux; NaN elsewhere). Unlike wall-clock rates it
 * hardly moves with the machine's load, so it compares builds fairly on a busy machine.
 */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

type Side = "direct" | "floor" | "mlxm" | "baseline";

/** The bare proxy (see the module comment), as a script for `node -e`: prints its port once listening. */
const BARE_PROXY = `
const http = require("node:http");
const upstream = new URL(process.argv[1]);
const agent = new http.Agent({ keepAlive: true });
http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    body.model = "bench-up";
    const out = Buffer.from(JSON.stringify(body));
    const up = http.request({ host: upstream.hostname, port: upstream.port, path: upstream.pathname + req.url.slice(3), method: "POST", agent,
      headers: { "content-type": "application/json", "content-length": out.length } }, (r) => {
      res.writeHead(r.statusCode, { "content-type": r.headers["content-type"] });
      r.pipe(res);
    });
    up.end(out);
  });
}).listen(0, "127.0.0.1", function () { console.log(this.address().port); });
`;

async function startBareProxy(upstreamUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, FLOOR_PROXY ? [FLOOR_PROXY[0]!, upstreamUrl, ...FLOOR_PROXY.slice(1)] : ["-e", BARE_PROXY, upstreamUrl], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<string>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));
  return { child, url: `http://127.0.0.1:${port}/v1` };
}

async function main() {
  const upstream = await startUpstream();
  const homes = [makeTempHome(), makeTempHome()];
  const daemons: ChildProcess[] = [];
  try {
    const pids: Partial<Record<Side, number>> = {};
    const clients: Partial<Record<Side, OpenAI>> = { direct: new OpenAI({ baseURL: upstream.url, apiKey: "none", maxRetries: 0 }) };
    const builds: [Side, string][] = [["mlxm", RUN_JS], ...(values.baseline ? [["baseline", values.baseline] as [Side, string]] : [])];
    for (const [i, [side, runJs]] of builds.entries()) {
      const port = await freePort();
      daemons.push(await startDaemon(homes[i]!.home, port, runJs, side === "baseline" ? BASELINE_ENV : {}));
      pids[side] = daemons.at(-1)!.pid;
      // Adding a route needs the admin token, as the local CLI sends it.
      await new MlxmClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: readAdminToken(homes[i]!.home) }).addRoute({ pattern: "bench-up", provider: "openai-compatible", base_url: upstream.url });
      clients[side] = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "none", maxRetries: 0 });
    }
    const floor = await startBareProxy(upstream.url);
    daemons.push(floor.child);
    pids.floor = floor.child.pid;
    clients.floor = new OpenAI({ baseURL: floor.url, apiKey: "none", maxRetries: 0 });
    const sides = Object.keys(clients) as Side[];
    // Warm every path (connections, JIT, the daemon's first route lookup).
    for (let i = 0; i < 5; i++) for (const side of sides) await stream(clients[side]!, "bench-up", 4);
    // Rotate which goes first, so no side always meets a warmer machine.
    const rotated = (i: number) => sides.map((_, k) => sides[(i + k) % sides.length]!);
    const ttft = Object.fromEntries(sides.map((s) => [s, [] as number[]])) as Record<Side, number[]>;
    // CPU a short request costs the daemon (parse, auth, route lookup, span, usage row, upstream call): what TTFT
    // pays for on a busy machine, measured without the machine's load in it.
    const requestCpu = Object.fromEntries(sides.map((s) => [s, 0])) as Record<Side, number>;
    for (let i = 0; i < TTFT_SAMPLES; i++) {
      for (const side of rotated(i)) {
        const before = cpuMs(pids[side]);
        ttft[side].push((await stream(clients[side]!, "bench-up", 1)).ttftMs);
        requestCpu[side] += cpuMs(pids[side]) - before;
      }
    }
    const tput = Object.fromEntries(sides.map((s) => [s, [] as number[]])) as Record<Side, number[]>;
    const cpu = Object.fromEntries(sides.map((s) => [s, 0])) as Record<Side, number>;
    for (let i = 0; i < STREAMS; i++) {
      for (const side of rotated(i)) {
        const before = cpuMs(pids[side]);
        tput[side].push((await stream(clients[side]!, "bench-up", CHUNKS)).chunksPerS);
        cpu[side] += cpuMs(pids[side]) - before;
      }
    }
    console.log(`\nrouting overhead: upstream chunks ${PACE_US ? `paced ${PACE_US} us` : "unpaced"}, ${TTFT_SAMPLES} TTFT samples, ${STREAMS} streams x ${CHUNKS} chunks, load ${loadavg()[0]!.toFixed(1)}\n`);
    const routedSides = sides.filter((s) => s !== "direct");
    const name = (s: Side) => (s === "mlxm" ? "through mlxm" : s === "floor" ? (FLOOR_PROXY ? `floor (${FLOOR_PROXY.join(" ")})` : "bare Node proxy (floor)") : `through baseline (${values.baseline})`);
    console.log(`| measure | direct | ${routedSides.map(name).join(" | ")} |`);
    console.log(`|---|---|${routedSides.map(() => "---|").join("")}`);
    const row = (label: string, stat: (xs: number[]) => number, unit: string, vs: (d: number, m: number) => string, xs: Record<Side, number[]>) => {
      const d = stat(xs.direct);
      console.log(`| ${label} | ${d.toFixed(2)} ${unit} | ${routedSides.map((s) => `${stat(xs[s]).toFixed(2)} ${unit} (${vs(d, stat(xs[s]))})`).join(" | ")} |`);
    };
    const added = (d: number, m: number) => `+${(m - d).toFixed(2)} ms`;
    row("TTFT median", median, "ms", added, ttft);
    row("TTFT p90", p90, "ms", added, ttft);
    row("throughput median", median, "chunks/s", (d, m) => `${(m / d).toFixed(3)}x`, tput);
    const perChunk = (s: Side) => ((cpu[s] * 1000) / (STREAMS * CHUNKS)).toFixed(1);
    console.log(`| daemon CPU per chunk | - | ${routedSides.map((s) => `${perChunk(s)} us`).join(" | ")} |`);
    console.log(`| daemon CPU per 1-token request | - | ${routedSides.map((s) => `${(requestCpu[s] / TTFT_SAMPLES).toFixed(2)} ms`).join(" | ")} |`);
    const requests = sides.length * (5 + TTFT_SAMPLES + STREAMS);
    console.log(`\nupstream connections opened: ${upstream.connections()} for ${requests} requests (all sides)`);
  } finally {
    for (const daemon of daemons) {
      daemon.kill("SIGTERM");
      await new Promise((r) => daemon.once("exit", r));
    }
    upstream.close();
    for (const h of homes) h.cleanup();
  }
}

await main();
