/**
 * A hostile-input sweep over every endpoint of one real daemon (real engine, built-in model): malformed JSON,
 * wrong types, absurd numbers, deep nesting, invalid UTF-8, traversal, missing fields, wrong methods, huge headers,
 * bad URI encodings. Nothing may answer 5xx or crash, errors come in the caller's shape, and afterwards every read
 * endpoint still answers and a normal request is served with every sequence free.
 */
import { expect } from "chai";
import http from "node:http";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

interface Probe {
  method: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  body: string;
}

/** A deterministic PRNG (mulberry32), so a failure replays exactly. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BAD_MODELS: unknown[] = [
  "../../etc/passwd", "..\\..\\windows", "hf.co/../../x", "%2e%2e/%2e%2e/x", "/etc/passwd", "a/../../b:Q4_K_M",
  "", " ", "\u0000", "\ud800", "x".repeat(5000), 123, null, true, [], {}, "nope", "hf.co/org/repo:../../q",
];
const ABSURD_NUMBERS = [-1, -1e308, 1e308, 1e13, 1e300, 0.5, -0, 2 ** 53 + 1, 1e21, -2147483649];
const INVALID_JSON = ["{", "[", "nul", '"', '{"a":}', "{'a':1}", "\u0000", "{}}", '{"model": "x",}', "1e400", "[".repeat(200_000)];

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** Bodies for a JSON endpoint whose natural fields are `fields`. */
function hostileBodies(rand: () => number, fields: Record<string, unknown>): (string | Buffer)[] {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: (string | Buffer)[] = [...INVALID_JSON, deepObject(5_000), "[]", "null", "42", '"text"', "{}"];
  out.push(Buffer.from([0x7b, 0x22, 0x6d, 0x6f, 0x64, 0x65, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])); // {"model":"\xff\xfe"}
  // Lone surrogates (JSON.stringify escapes them as \ud800).
  out.push(JSON.stringify({ ...fields, prompt: "\ud800\udfff\ud800", input: "\udc00" }));
  for (const key of Object.keys(fields)) {
    const without = { ...fields };
    delete without[key];
    out.push(JSON.stringify(without));
    for (let i = 0; i < 6; i++) out.push(JSON.stringify({ ...fields, [key]: pick([...ABSURD_NUMBERS, ...BAD_MODELS, "x".repeat(3), [1, [2, [3]]], { $gt: "" }]) }));
  }
  for (let i = 0; i < 6; i++) out.push(JSON.stringify({ ...fields, model: pick(BAD_MODELS) }));
  // Two fields wrong at once, and unknown fields beside them.
  const keys = Object.keys(fields);
  const wrong = () => pick<unknown>([...ABSURD_NUMBERS, ...BAD_MODELS, [], {}, "1e999"]);
  for (let i = 0; i < 20; i++) out.push(JSON.stringify({ ...fields, [pick(keys)]: wrong(), [pick(keys)]: wrong(), ...(i % 3 === 0 ? { ["__proto__"]: { admin: true }, extra: i } : {}) }));
  return out;
}

const tiny = "mlxm-tiny";
const messages = [{ role: "user", content: "hi" }];
const small = { num_predict: 2 };

/** Every endpoint with its natural body; generation bodies are kept short so valid-looking ones finish fast. */
const POSTS: [string, Record<string, unknown>][] = [
  ["/api/chat", { model: tiny, messages, options: small, stream: false, keep_alive: "1m" }],
  ["/api/generate", { model: tiny, prompt: "hi", options: small, stream: false, keep_alive: 60 }],
  ["/api/embed", { model: tiny, input: "hi" }],
  ["/api/embeddings", { model: tiny, prompt: "hi" }],
  ["/api/show", { model: tiny }],
  ["/api/pull", { model: "hf.co/org/repo:Q4_K_M", stream: false }],
  ["/api/pull/cancel", { model: "hf.co/org/repo:Q4_K_M" }],
  ["/api/traces", { spans: [{ trace_id: "0".repeat(32), span_id: "1".repeat(16), parent_span_id: null, name: "x", service: "s", kind: 0, start_ms: 1e300, duration_ms: 1, status_code: 0, status_message: null, attributes: {} }] }],
  ["/api/keys", { name: "fuzz" }],
  ["/v1/chat/completions", { model: tiny, messages, max_tokens: 2 }],
  ["/v1/completions", { model: tiny, prompt: "hi", max_tokens: 2 }],
  ["/v1/embeddings", { model: tiny, input: "hi" }],
  ["/v1/messages", { model: tiny, max_tokens: 2, messages }],
  ["/api/copy", { source: "no-such-model", destination: "../../escape" }],
  ["/api/create", { model: "../x", from: "no-such-model" }],
  ["/api/routes/test", { model: "../../x" }],
  ["/v1/messages/count_tokens", { model: tiny, messages }],
];
const GETS = ["/api/routes", "/api/usage", "/api/usage?since=99999999999999999999&by=%ff", "/api/search?q=%00", "/api/version", "/api/health", "/api/tags", "/api/ps", "/api/traces", "/api/keys", "/metrics", "/v1/models", "/v1/models/mlxm-tiny"];
const ODD_PATHS = [
  "/v1/models/%ff", "/v1/models/..%2f..%2fetc%2fpasswd", "/api/traces/%E0%A4%A", "/api/traces/..%2f..", "/api/traces/last",
  "/api/traces/0123456789abcdef", "/api/traces?limit=1e308", "/api/traces?since=99999999999999999999", "/api/traces?since=-1e300",
  "/api/traces?limit=-5&errors=%ff", "/api/keys/..%2f..", "/api/keys/%00", "/%", "/api/../../etc/passwd", "/v1/../api/tags",
];

function buildProbes(seed: number): Probe[] {
  const rand = prng(seed);
  const json = { "content-type": "application/json" };
  const probes: Probe[] = [];
  for (const [path, fields] of POSTS) {
    for (const body of hostileBodies(rand, fields)) probes.push({ method: "POST", path, body, headers: json });
    // Content types and encodings the framework itself rejects.
    probes.push({ method: "POST", path, body: JSON.stringify(fields), headers: { "content-type": "application/json; charset=ebcdic" } });
    probes.push({ method: "POST", path, body: "not gzip", headers: { ...json, "content-encoding": "gzip" } });
    probes.push({ method: "POST", path, body: JSON.stringify(fields), headers: { ...json, "content-encoding": "br;q=x" } });
    probes.push({ method: "POST", path, body: JSON.stringify(fields) }); // no content type at all
    for (const method of ["GET", "PUT", "PATCH", "DELETE"]) probes.push({ method, path });
  }
  for (const body of hostileBodies(rand, { model: "definitely-not-a-model" })) probes.push({ method: "DELETE", path: "/api/delete", body, headers: json });
  for (const path of [...GETS, ...ODD_PATHS]) {
    probes.push({ method: "GET", path });
    probes.push({ method: "POST", path, body: "{", headers: json });
    probes.push({ method: "GET", path, headers: { "x-junk": "x".repeat(12_000) } });
    probes.push({ method: "GET", path, headers: { authorization: "Bearer \u00ff".repeat(3), "x-api-key": "' OR 1=1 --" } });
  }
  // Bodies past each limit: 1 MiB for pulls, MLXM_MAX_BODY (set to 256KiB below) for generation.
  probes.push({ method: "POST", path: "/api/pull", body: JSON.stringify({ model: "x".repeat(2 * 1024 * 1024) }), headers: json });
  probes.push({ method: "POST", path: "/v1/chat/completions", body: JSON.stringify({ model: tiny, messages: [{ role: "user", content: "x".repeat(300_000) }] }), headers: json });
  probes.push({ method: "POST", path: "/api/generate", body: JSON.stringify({ model: tiny, prompt: "x".repeat(300_000) }), headers: json });
  // A header block past Node's limit (431 from the HTTP parser itself).
  probes.push({ method: "GET", path: "/api/tags", headers: { "x-huge": "y".repeat(40_000) } });
  return probes;
}

function send(baseUrl: string, probe: Probe, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node's client frames no body for DELETE otherwise, and the bytes would read as a new request.
    const headers = probe.body === undefined ? probe.headers : { ...probe.headers, "content-length": String(Buffer.byteLength(probe.body)) };
    const req = http.request(`${baseUrl}${probe.path}`, { method: probe.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(probe.body);
  });
}

/** Whether an error body is in the shape of the protocol its path belongs to. */
function inCallersShape(path: string, body: string): boolean {
  let parsed: any;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  const openai = typeof parsed?.error?.message === "string" && typeof parsed.error.type === "string";
  const anthropic = parsed?.type === "error" && typeof parsed?.error?.type === "string" && typeof parsed.error.message === "string";
  const native = typeof parsed?.error === "string" && typeof parsed.code === "string";
  // The client normalises dot segments (`/v1/../api/tags` is sent as `/api/tags`).
  const p = new URL(path, "http://x").pathname;
  // `/v1/messages` is Anthropic's once its router is mounted; until then the OpenAI fallback answers 404 there.
  if (p.startsWith("/v1/messages")) return anthropic || openai;
  if (p.startsWith("/v1/") || p === "/v1") return openai;
  return native;
}

describe("hostile requests (fuzz)", function () {
  let d: TestDaemon;
  let hub: http.Server;
  before(async () => {
    // A Hub that knows no repository: valid-looking pulls end in a clean 404, never an unreachable upstream (502).
    hub = http.createServer((_req, res) => res.writeHead(404, { "content-type": "application/json", "x-error-code": "RepoNotFound" }).end('{"error":"Repository not found"}'));
    await new Promise<void>((r) => hub.listen(0, "127.0.0.1", () => r()));
    const hubPort = (hub.address() as { port: number }).port;
    d = await startTestDaemon({ MLXM_CONTEXT_SIZE: "256", MLXM_MAX_BODY: "256KiB", HF_ENDPOINT: `http://127.0.0.1:${hubPort}` });
  });
  after(async () => {
    await d?.stop();
    hub?.close();
  });

  it("answers over 1,000 hostile requests without a 5xx, in each caller's error shape", async () => {
    const probes = buildProbes(12);
    expect(probes.length).to.be.greaterThan(1000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < probes.length) {
        const probe = probes[next++]!;
        let answer: Answer;
        try {
          answer = await send(d.baseUrl, probe, agent);
        } catch (err) {
          // Node's HTTP parser answers an oversized header block (431) and may close before the reply is read.
          if (probe.headers?.["x-huge"]) continue;
          failures.push(`${probe.method} ${probe.path}: ${(err as Error).message}`);
          continue;
        }
        const label = `${probe.method} ${probe.path} ${String(probe.body ?? "").slice(0, 80)} → ${answer.status} ${answer.body.slice(0, 160)}`;
        if (answer.status >= 500) failures.push(label);
        else if (answer.status >= 400 && answer.status !== 431 && !inCallersShape(probe.path, answer.body)) failures.push(`shape: ${label}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    agent.destroy();
    expect(failures, failures.slice(0, 20).join("\n")).to.deep.equal([]);
  });

  it("still answers every read endpoint and serves a normal request with every sequence free", async () => {
    for (const path of ["/api/ps", "/api/tags", "/api/traces", "/v1/models", "/metrics", "/api/health"]) {
      const res = await fetch(`${d.baseUrl}${path}`);
      expect(res.status, path).to.equal(200);
    }
    const res = await fetch(`${d.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: tiny, messages, max_tokens: 3 }),
    });
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { choices: unknown[] }).choices).to.have.length(1);
    // Sequences are released as responses close: wait for the state, never a fixed time.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ps = await d.client.ps();
      const busy = ps.models.reduce((n, m) => n + (m.active_requests ?? 0) + (m.queued_requests ?? 0), 0);
      if (busy === 0) break;
      if (Date.now() > deadline) expect.fail(`sequences still busy: ${JSON.stringify(ps.models)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
