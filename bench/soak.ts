/**
 * Soak: N concurrent streaming clients against a real `mlxm serve` (the built CLI, its own process and home) for a
 * fixed time, a third of them disconnecting mid-stream. Reports errors besides deliberate 429s, whether any
 * sequence is left busy, and the daemon's RSS (from /proc) in the first and last 10 s and after 10 s idle.
 *
 *   npm run build && npx tsx bench/soak.ts [--clients 32] [--seconds 60]
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
const CLIENTS = arg("clients", 32);
const SECONDS = arg("seconds", 60);
const PORT = arg("port", 10555);
const RUN_JS = fileURLToPath(new URL("../bin/run.js", import.meta.url));
const base = `http://127.0.0.1:${PORT}`;

const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-soak-"));
  const daemon = spawn(process.execPath, [RUN_JS, "serve"], {
    env: { ...process.env, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${PORT}`, MLXM_TRACE: "true", UV_THREADPOOL_SIZE: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (let deadline = Date.now() + 180_000; ; await sleep(250)) {
      const ok = await fetch(`${base}/api/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error("daemon did not start");
    }
    const counts = { ok: 0, aborted: 0, rateLimited: 0, errors: 0 };
    const errorSamples: string[] = [];
    const samples: { t: number; rss: number }[] = [];
    const start = Date.now();
    const end = start + SECONDS * 1000;
    const sampler = setInterval(() => samples.push({ t: (Date.now() - start) / 1000, rss: rssMiB(daemon.pid!) }), 1000);

    const client = async (id: number) => {
      const disconnects = id % 3 === 0;
      while (Date.now() < end) {
        const controller = new AbortController();
        try {
          const res = await fetch(`${base}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "mlxm-tiny", stream: true, max_tokens: 24, messages: [{ role: "user", content: `hello ${id}` }] }),
            signal: controller.signal,
          });
          if (res.status === 429) {
            counts.rateLimited++;
            await res.body?.cancel();
            await sleep(Number(res.headers.get("retry-after") ?? 1) * 100);
            continue;
          }
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
          const reader = res.body.getReader();
          let chunks = 0;
          for (;;) {
            const { done } = await reader.read();
            if (done) break;
            if (disconnects && ++chunks === 3) {
              controller.abort();
              break;
            }
          }
          if (disconnects && chunks >= 3) counts.aborted++;
          else counts.ok++;
        } catch (err) {
          if (controller.signal.aborted) {
            counts.aborted++;
            continue;
          }
          counts.errors++;
          if (errorSamples.length < 5) errorSamples.push((err as Error).message.slice(0, 200));
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    const loadEnd = (Date.now() - start) / 1000;
    await sleep(10_000);
    clearInterval(sampler);
    const idleRss = rssMiB(daemon.pid!);

    const ps = (await (await fetch(`${base}/api/ps`)).json()) as { models: { active_requests: number; queued_requests: number }[] };
    const busy = ps.models.reduce((n, m) => n + m.active_requests + m.queued_requests, 0);
    const first = avg(samples.filter((s) => s.t <= 10).map((s) => s.rss));
    const last = avg(samples.filter((s) => s.t > loadEnd - 10 && s.t <= loadEnd).map((s) => s.rss));
    const traces = (await (await fetch(`${base}/api/traces?limit=1`)).json()) as unknown;
    void traces;

    const rows: [string, string][] = [
      ["clients (disconnecting)", `${CLIENTS} (${Math.ceil(CLIENTS / 3)})`],
      ["duration", `${SECONDS} s`],
      ["completed streams", String(counts.ok)],
      ["disconnected mid-stream", String(counts.aborted)],
      ["429 (deliberate)", String(counts.rateLimited)],
      ["errors", String(counts.errors)],
      ["sequences busy after", String(busy)],
      ["RSS first 10 s (MiB)", first.toFixed(0)],
      ["RSS last 10 s (MiB)", last.toFixed(0)],
      ["RSS growth", `${(((last - first) / first) * 100).toFixed(1)} %`],
      ["RSS after 10 s idle (MiB)", idleRss.toFixed(0)],
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
