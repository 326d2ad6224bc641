/**
 * A shutdown drains: while streams still run, the daemon keeps listening and answers new callers in their protocol's
 * "try again" shape; once the grace runs out it ends each stream still running with its protocol's error event (it
 * used to cut the connection mid-delta, so a client could not tell a finished answer from a killed one).
 */
import { expect } from "chai";
import http from "node:http";
import path from "node:path";
import OpenAI from "openai";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { startFakeOpenAI, type FakeStep } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";
import { addTestModel } from "../helpers/models.js";

const SLOW_MODEL = "slow-shutdown";
const SLOW_OPTIONS = { nEmbd: 384, nLayers: 6, nHead: 6, nFf: 1024 };

describe("shutdown with a stream still running", function () {
  this.timeout(120_000);
  let d: TestDaemon;

  before(async () => {
    d = await startTestDaemon({ MLXM_SHUTDOWN_GRACE: "1s" });
    const store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, SLOW_MODEL, SLOW_OPTIONS);
    await store.close();
  });
  after(async () => d?.stop());

  it("ends an OpenAI stream with an error event saying the daemon is shutting down", async () => {
    const openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: SLOW_MODEL, messages: [{ role: "user", content: "go on" }], max_tokens: 100_000, stream: true });
    let chunks = 0;
    let closing: Promise<void> | undefined;
    const err = await (async () => {
      for await (const _ of stream) if (++chunks === 3) closing = d.daemon.close();
    })().then(() => undefined, (e: unknown) => e as Error);
    await closing;
    expect(err, "the stream should fail in-band").to.be.instanceOf(OpenAI.APIError);
    expect(err!.message).to.contain("shutting down");
  });
});

describe("draining with a stream still running", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let up: FakeServer;
  const script: FakeStep[] = [];

  before(async () => {
    up = await startFakeOpenAI({ script });
    // A grace far longer than the test: the drain lasts exactly as long as the held stream.
    d = await startTestDaemon({ MLXM_SHUTDOWN_GRACE: "10m" });
    await d.admin.addRoute({ pattern: "held", provider: "openai-compatible", base_url: `${up.url}/v1` });
  });
  after(async () => {
    await d?.stop();
    await up?.close();
  });

  it("keeps listening and answers new connections 503 (OpenAI, Ollama) or 529 (Anthropic) with Retry-After until the drain ends", async () => {
    let upstreamClosed!: () => void;
    const upstreamGone = new Promise<void>((r) => (upstreamClosed = r));
    script.push({ holdOpen: true, onClose: () => upstreamClosed() });
    const caller = new AbortController();
    const openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: "held", messages: [{ role: "user", content: "hi" }], stream: true }, { signal: caller.signal });
    const chunks = stream[Symbol.asyncIterator]();
    await chunks.next();

    const closing = d.daemon.close();
    try {
      await expectRefusals(d.daemon.port);
    } finally {
      // The stream that was running ends: the drain is over, and only now does the port close.
      caller.abort();
      await chunks.return?.().catch(() => {});
    }
    await upstreamGone;
    await closing;
    const refused = await postOnNewConnection(d.daemon.port, "/api/chat", {}).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(refused?.code).to.equal("ECONNREFUSED");
  });
});

/** What new callers get while the daemon drains, on connections of their own. */
async function expectRefusals(port: number): Promise<void> {
  const openaiAnswer = await postOnNewConnection(port, "/v1/chat/completions", { model: "held", messages: [] });
  expect(openaiAnswer.status).to.equal(503);
  expect(openaiAnswer.headers["retry-after"]).to.equal("1");
  expect(JSON.parse(openaiAnswer.body).error).to.deep.include({ type: "server_error", code: "service_unavailable" });
  const ollamaAnswer = await postOnNewConnection(port, "/api/chat", { model: "held", messages: [] });
  expect(ollamaAnswer.status).to.equal(503);
  expect(ollamaAnswer.headers["retry-after"]).to.equal("1");
  expect(JSON.parse(ollamaAnswer.body)).to.deep.equal({ error: "the daemon is shutting down", code: "unavailable" });
  const anthropicAnswer = await postOnNewConnection(port, "/v1/messages", { model: "held", max_tokens: 5, messages: [] });
  expect(anthropicAnswer.status).to.equal(529);
  expect(anthropicAnswer.headers["retry-after"]).to.equal("1");
  expect(JSON.parse(anthropicAnswer.body)).to.deep.equal({ type: "error", error: { type: "overloaded_error", message: "the daemon is shutting down" } });
}

/** A POST on a connection of its own (no keep-alive pool): what a new caller would see. */
function postOnNewConnection(port: number, path: string, body: object): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: "POST", agent: false, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}
