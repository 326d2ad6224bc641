/**
 * Request latency and stop time while the trace backend is down (issue 16): the same requests against daemons
 * with no exporter, a working OTLP collector (the cost of exporting at all), one that refuses connections, one that never answers, and a Logfire whose
 * backend never answers. All daemons run at once and requests alternate between them, so each sees the same
 * machine noise; compare the ratios to "none" measured in this one run. Stop time is SIGTERM until exit.
 *
 *   npx tsx bench/trace-backend-down.ts [--requests 40]
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RUN_JS = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const requests = Number(process.argv[process.argv.indexOf("--requests") + 1]) || 40;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Accepts connections, never answers. */
const silent = net.createServer((socket) => socket.on("data", () => {}).on("error", () => {}));
await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
const silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
const refusedUrl = `http://127.0.0.1:${await freePort()}`;
/** A collector that takes everything. */
const sink = http.createServer((req, res) => req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}")));
await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
const sinkUrl = `http://127.0.0.1:${(sink.address() as net.AddressInfo).port}`;

const configs: [string, Record<string, string>][] = [
  ["none", {}],
  ["otlp working", { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl }],
  ["otlp refusing", { OTEL_EXPORTER_OTLP_ENDPOINT: refusedUrl }],
  ["otlp silent", { OTEL_EXPORTER_OTLP_ENDPOINT: silentUrl }],
  ["logfire silent", { LOGFIRE_TOKEN: "pylf_v1_us_benchbenchbenchbenchbench", LOGFIRE_BASE_URL: silentUrl }],
];

interface Daemon {
  name: string;
  base: string;
  child: ChildProcess;
  home: string;
  tags: number[];
  generate: number[];
}

async function startDaemon(name: string, extra: Record<string, string>): Promise<Daemon> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-bench-"));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${port}`, ...extra };
  for (const k of ["LOGFIRE_TOKEN", "LOGFIRE_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"]) if (!(k in extra)) delete env[k];
  const child = spawn(process.execPath, [RUN_JS, "serve"], { env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  const deadline = Date.now() + 180_000;
  while (!out.includes("mlxm daemon ready")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${name}: daemon did not start\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, base: `http://127.0.0.1:${port}`, child, home, tags: [], generate: [] };
}

async function timed(fn: () => Promise<Response>): Promise<number> {
  const start = performance.now();
  const res = await fn();
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`status ${res.status}`);
  return performance.now() - start;
}

const generate = (d: Daemon) =>
  fetch(`${d.base}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "mlxm-tiny", prompt: "hello", stream: false, options: { num_predict: 4, seed: 1 } }),
  });

const daemons: Daemon[] = [];
for (const [name, extra] of configs) daemons.push(await startDaemon(name, extra));
try {
  // Warm up: load the model everywhere, let the broken exporters start failing.
  for (const d of daemons) await timed(() => generate(d));
  for (let i = 0; i < requests; i++) {
    // Rotate the order so no daemon is always first after a pause.
    for (let k = 0; k < daemons.length; k++) {
      const d = daemons[(i + k) % daemons.length]!;
      d.tags.push(await timed(() => fetch(`${d.base}/api/tags`)));
      d.generate.push(await timed(() => generate(d)));
    }
  }
  const health = await Promise.all(daemons.map(async (d) => ((await (await fetch(`${d.base}/api/health`)).json()) as { exporters: { dropped: number; queued: number }[] }).exporters[0]));

  const stops: number[] = [];
  for (const d of daemons) {
    const start = performance.now();
    const exited = new Promise<[number | null, string | null]>((r) => d.child.on("exit", (code, signal) => r([code, signal])));
    d.child.kill("SIGTERM");
    const [code, signal] = await exited;
    stops.push(performance.now() - start);
    if (code !== 0 || signal) throw new Error(`${d.name}: exit ${code} ${signal}`);
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
  const base = daemons[0]!;
  const f = (n: number) => n.toFixed(1);
  console.log(`\n${requests} rounds; ms; ratio = median / median of "none"\n`);
  console.log("| exporter | GET /api/tags median | p95 | ratio | generate (4 tokens) median | p95 | ratio | dropped | stop (SIGTERM→exit) ms |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  daemons.forEach((d, i) => {
    const e = health[i];
    console.log(
      `| ${d.name} | ${f(median(d.tags))} | ${f(p95(d.tags))} | ${(median(d.tags) / median(base.tags)).toFixed(2)} | ${f(median(d.generate))} | ${f(p95(d.generate))} | ${(median(d.generate) / median(base.generate)).toFixed(2)} | ${e ? e.dropped : "-"} | ${f(stops[i]!)} |`,
    );
  });
} finally {
  for (const d of daemons) {
    if (d.child.exitCode === null) d.child.kill("SIGKILL");
    fs.rmSync(d.home, { recursive: true, force: true });
  }
  silent.close();
  sink.close();
}
