/**
 * The pass-through's transport against a real local HTTP server: the headers each vendor expects, the SDKs' retry
 * rules (5xx, 429 with `retry-after`, `x-should-retry`), a `retry-after` too long to wait out, timeouts, the caller
 * going away, and vendor error messages passed on without the key.
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { WireCall } from "../../src/daemon/routing/forward-call.js";
import { readJson, sendForward } from "../../src/daemon/routing/forward-transport.js";
import type { Route } from "../../src/daemon/routing/route.js";
import { UpstreamError } from "../../src/daemon/routing/upstream-errors.js";

type Reply = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A server answering the n-th request with `replies[n]` (the last one repeats), recording what it got. */
async function upstream(replies: Reply[]) {
  const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      replies[Math.min(seen.length - 1, replies.length - 1)]!(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen, close: () => new Promise((r) => server.close(r)) };
}

const route = (provider: Route["provider"], baseUrl: string, timeoutMs: number | null = null): Route => ({
  id: 1, pattern: "m", provider, upstreamModel: null, baseUrl, keySource: { kind: "none" }, fallback: null, priority: 0,
  timeoutMs, preferRemote: false, maxConcurrency: null, requestsPerMinute: null, createdAt: "",
});
const call = (api: WireCall["api"], headers?: Record<string, string>): WireCall => ({
  api, endpoint: api === "anthropic" ? "messages" : "chat/completions", body: { model: "m", messages: [], seed: 7 }, model: "m", stream: false, includeUsage: false, ...(headers ? { headers } : {}),
});
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => (_req, res) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const send = (r: Route, c: WireCall, { key, retries = 2, signal = new AbortController().signal }: { key?: string; retries?: number; signal?: AbortSignal } = {}) =>
  sendForward({ route: r, apiKey: key, defaultBaseUrl: undefined, maxRetries: retries }, c, "up-model", "test-backend", signal);

describe("pass-through transport", () => {
  it("sends OpenAI's auth and the body with the upstream model, unchanged otherwise", async () => {
    const up = await upstream([json(200, { ok: 1 })]);
    try {
      expect(await readJson(await send(route("openai-compatible", `${up.base}/v1`), call("openai"), { key: "sk-test" }))).to.deep.equal({ ok: 1 });
      expect(up.seen[0]!.url).to.equal("/v1/chat/completions");
      expect(up.seen[0]!.headers.authorization).to.equal("Bearer sk-test");
      expect(JSON.parse(up.seen[0]!.body)).to.deep.equal({ model: "up-model", messages: [], seed: 7 });
    } finally {
      await up.close();
    }
  });

  it("sends Anthropic's key, version and the caller's beta header; no key, no auth header", async () => {
    const up = await upstream([json(200, { ok: 1 })]);
    try {
      await readJson(await send(route("anthropic", up.base), call("anthropic", { "anthropic-beta": "x-beta" }), { key: "sk-ant-test" }));
      expect(up.seen[0]!.url).to.equal("/v1/messages");
      expect(up.seen[0]!.headers).to.include({ "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "anthropic-beta": "x-beta" });
      await readJson(await send(route("openai-compatible", up.base), call("openai")));
      expect(up.seen[1]!.headers.authorization).to.equal(undefined);
    } finally {
      await up.close();
    }
  });

  it("retries a 503 and a 429 with retry-after-ms, then answers", async () => {
    const up = await upstream([json(503, { error: { message: "busy" } }), json(429, { error: { message: "slow down" } }, { "retry-after-ms": "10" }), json(200, { ok: 2 })]);
    try {
      expect(await readJson(await send(route("openai-compatible", up.base), call("openai")))).to.deep.equal({ ok: 2 });
      expect(up.seen).to.have.length(3);
    } finally {
      await up.close();
    }
  });

  it("gives up at once on a retry-after too long to wait, with the vendor's message and the retry-after for the caller", async () => {
    const up = await upstream([json(429, { error: { message: "quota for sk-secret-123 exhausted" } }, { "retry-after": "3600" })]);
    try {
      const err = await send(route("openai-compatible", up.base), call("openai"), { key: "sk-secret-123" }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UpstreamError);
      expect(err).to.include({ status: 429, retriable: true });
      expect((err as UpstreamError).message).to.equal("upstream test-backend answered 429: quota for [redacted] exhausted");
      expect((err as UpstreamError).headers).to.deep.equal({ "retry-after": "3600" });
      expect(up.seen).to.have.length(1);
    } finally {
      await up.close();
    }
  });

  it("obeys x-should-retry: false and does not retry a 400", async () => {
    const up = await upstream([json(500, { message: "no" }, { "x-should-retry": "false" }), json(400, { error: { message: "bad seed" } })]);
    try {
      const first = (await send(route("openai-compatible", up.base), call("openai")).catch((e: unknown) => e)) as UpstreamError;
      expect(first).to.include({ status: 502, retriable: true, message: "upstream test-backend answered 500: no" });
      const second = (await send(route("openai-compatible", up.base), call("openai")).catch((e: unknown) => e)) as UpstreamError;
      expect(second).to.include({ status: 400, retriable: false, message: "upstream test-backend answered 400: bad seed" });
      expect(up.seen).to.have.length(2);
    } finally {
      await up.close();
    }
  });

  it("reports a refused connection and a timeout as unreachable, retriable", async () => {
    const refused = (await send(route("openai-compatible", "http://127.0.0.1:1"), call("openai"), { retries: 0 }).catch((e: unknown) => e)) as UpstreamError;
    expect(refused).to.include({ code: "unavailable", retriable: true });
    expect(refused.message).to.match(/^upstream test-backend is unreachable: .*ECONNREFUSED/);
    const up = await upstream([() => {}]);
    try {
      const slow = (await send(route("openai-compatible", up.base, 100), call("openai"), { retries: 0 }).catch((e: unknown) => e)) as UpstreamError;
      expect(slow).to.include({ code: "unavailable", retriable: true });
      expect(slow.message).to.contain("timed out");
    } finally {
      await up.close();
    }
  });

  it("stops waiting and closes the connection when the caller goes away", async () => {
    let closed: () => void;
    const upstreamSawClose = new Promise<void>((r) => (closed = r));
    const up = await upstream([(req) => req.socket.once("close", () => closed())]);
    try {
      const abort = new AbortController();
      const pending = send(route("openai-compatible", up.base), call("openai"), { signal: abort.signal });
      while (up.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
      abort.abort();
      const err = (await pending.catch((e: unknown) => e)) as Error;
      expect(err.name).to.equal("AbortError");
      await upstreamSawClose;
    } finally {
      await up.close();
    }
  });
});
