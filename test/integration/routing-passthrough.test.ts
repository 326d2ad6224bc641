/**
 * Same-protocol pass-through, end to end: a real daemon in front of the fake upstreams (which record what they
 * receive), called with the official SDKs. An OpenAI request to an OpenAI-speaking route and an Anthropic request to
 * an Anthropic route arrive upstream as sent (only `model` rewritten; usage requested for OpenAI streams), answers come
 * back with the caller's model name, and the usage row, limits, fallback, no-retry-after-first-byte, disconnects and
 * key scrubbing hold as on the translated path.
 */
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import path from "node:path";
import OpenAI, { type APIError } from "openai";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { FAKE_ANTHROPIC_CACHE_USAGE, FAKE_ANTHROPIC_COUNT, FAKE_ANTHROPIC_REPLY, FAKE_ANTHROPIC_USAGE, startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { costOf } from "../../src/daemon/routing/pricing.js";
import { FAKE_OPENAI_REPLY, FAKE_OPENAI_TOOL_ARGS, FAKE_OPENAI_USAGE, startFakeOpenAI, type FakeStep } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";

const OPENAI_KEY = "sk-pass0through0openai0key0never0echo0789";
const ANTHROPIC_KEY = "sk-ant-pass0through0key0never0echoed0123";
/** A route key the upstream refuses: OpenAI's 401 echoes it masked (its first 8 and last 4 characters). */
const WRONG_KEY = "sk-wrong0key0the0upstream0refuses0echo321";
const CLAUDE = "claude-3-5-haiku-latest";
const user = (content: string) => [{ role: "user" as const, content }];
const weather = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

describe("same-protocol pass-through to OpenAI and Anthropic upstreams", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let up: FakeServer;
  let claude: FakeServer;
  const script: FakeStep[] = [];
  const claudeScript: FakeStep[] = [];

  before(async () => {
    up = await startFakeOpenAI({ apiKey: OPENAI_KEY, script });
    claude = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY, script: claudeScript });
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    await d.admin.addRoute({ pattern: "gpt-pass", provider: "openai", base_url: `${up.url}/v1`, model: "gpt-upstream", api_key: OPENAI_KEY, fallback: "claude" });
    await d.admin.addRoute({ pattern: "claude", provider: "anthropic", base_url: claude.url, model: CLAUDE, api_key: ANTHROPIC_KEY });
    await d.admin.addRoute({ pattern: "gpt-wrong-key", provider: "openai", base_url: `${up.url}/v1`, api_key: WRONG_KEY });
    await d.admin.addRoute({ pattern: "one-at-a-time", provider: "openai", base_url: `${up.url}/v1`, api_key: OPENAI_KEY, max_concurrency: 1 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
    await Promise.all([up?.close(), claude?.close()]);
  });

  const sent = (s: FakeServer) => JSON.parse(s.requests.at(-1)!.body) as Record<string, unknown>;

  it("passes every OpenAI field on unchanged, rewriting only the model, and answers with the caller's name", async () => {
    const extras = { logprobs: true, top_logprobs: 2, seed: 7, n: 1, parallel_tool_calls: false, service_tier: "flex", user: "u-1", x_vendor_field: { keep: [1, 2] } };
    const res = await openai.chat.completions.create({ model: "gpt-pass", messages: user("hi"), max_completion_tokens: 9, ...extras } as never).withResponse();
    expect(sent(up)).to.deep.equal({ model: "gpt-upstream", messages: user("hi"), max_completion_tokens: 9, ...extras });
    expect(res.response.headers.get("x-mlxm-backend")).to.equal("openai:gpt-upstream");
    const completion = res.data as OpenAI.ChatCompletion;
    expect(completion.model).to.equal("gpt-pass");
    expect(completion.choices[0]!.message.content).to.equal(FAKE_OPENAI_REPLY);
    expect(completion.system_fingerprint, "upstream fields come back too").to.equal("fp_fake");
    expect(completion.usage).to.deep.equal(FAKE_OPENAI_USAGE);
  });

  it("streams an OpenAI answer through, asking for usage upstream but not showing it to a caller who did not ask", async () => {
    const raw = await (await fetch(`${d.baseUrl}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "gpt-pass", messages: user("hi"), stream: true, seed: 3 }) })).text();
    expect(sent(up)).to.deep.equal({ model: "gpt-upstream", messages: user("hi"), stream: true, seed: 3, stream_options: { include_usage: true } });
    const chunks = raw.split("\n\n").filter((f) => f.startsWith("data: {")).map((f) => JSON.parse(f.slice(6)) as OpenAI.ChatCompletionChunk);
    expect(chunks.every((c) => c.model === "gpt-pass" && !("usage" in c))).to.equal(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).to.equal(FAKE_OPENAI_REPLY);
    expect(raw.endsWith("data: [DONE]\n\n")).to.equal(true);

    const stream = await openai.chat.completions.create({ model: "gpt-pass", messages: user("hi"), stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage).to.deep.equal(FAKE_OPENAI_USAGE);
    expect(sent(up).stream_options).to.deep.equal({ include_usage: true });
  });

  it("streams tool calls the SDK's helper reassembles", async () => {
    const final = await openai.chat.completions.stream({ model: "gpt-pass", messages: user("weather?"), tools: weather, tool_choice: "required" }).finalChatCompletion();
    expect(final.choices[0]!.message.tool_calls?.[0]?.function).to.deep.equal({ name: "get_weather", arguments: FAKE_OPENAI_TOOL_ARGS });
    expect(sent(up)).to.deep.include({ tools: weather, tool_choice: "required" });
  });

  it("passes every Anthropic field on unchanged (cache_control, top_k, temperature, anthropic-beta), streamed and not", async () => {
    const body = {
      model: "claude",
      max_tokens: 64,
      temperature: 0.3,
      top_k: 5,
      top_p: 0.9,
      metadata: { user_id: "u-1" },
      system: [{ type: "text" as const, text: "be brief", cache_control: { type: "ephemeral" as const } }],
      messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hi", cache_control: { type: "ephemeral" as const } }] }],
    };
    const res = await anthropic.messages.create(body, { headers: { "anthropic-beta": "prompt-caching-2024-07-31" } }).withResponse();
    expect(sent(claude)).to.deep.equal({ ...body, model: CLAUDE });
    expect(claude.requests.at(-1)!.headers["anthropic-beta"]).to.equal("prompt-caching-2024-07-31");
    expect(res.response.headers.get("x-mlxm-backend")).to.equal(`anthropic:${CLAUDE}`);
    expect(res.data.model).to.equal("claude");
    expect(res.data.content).to.deep.equal([{ type: "text", text: FAKE_ANTHROPIC_REPLY }]);

    const stream = anthropic.messages.stream({ ...body, stream: true } as never);
    const final = await stream.finalMessage();
    expect(sent(claude)).to.deep.equal({ ...body, model: CLAUDE, stream: true });
    expect(final.model).to.equal("claude");
    expect(final.content).to.deep.equal([{ type: "text", text: FAKE_ANTHROPIC_REPLY }]);
    expect(final.usage.output_tokens).to.equal(FAKE_ANTHROPIC_USAGE.output_tokens);
  });

  it("writes a usage row with tokens, TTFT, backend and cost for a passed-through request", async () => {
    // The row is written when the response closes, a moment after the client has its answer; rows of earlier tests
    // may still be landing. This request's row is the one that started after `since`.
    const since = new Date().toISOString();
    const newRows = async () => (await store.requests.recent(1000)).filter((r) => r.created_at >= since);
    await anthropic.messages.create({ model: "claude", max_tokens: 8, messages: user("row") });
    const [row] = await eventually(newRows, (rows) => rows.length === 1, "the row");
    expect(row).to.deep.include({ model: "claude", backend: `anthropic:${CLAUDE}`, input_tokens: FAKE_ANTHROPIC_USAGE.input_tokens, output_tokens: FAKE_ANTHROPIC_USAGE.output_tokens, status_code: 200 });
    expect(row!.cost_usd).to.be.a("number").greaterThan(0);
    expect(row!.ttft_ms).to.be.a("number");

    await openai.chat.completions.create({ model: "gpt-pass", messages: user("row"), stream: true }).then(async (s) => {
      for await (const _ of s);
    });
    const [streamed] = await eventually(newRows, (rows) => rows.length === 2, "the streamed row");
    expect(streamed).to.deep.include({ backend: "openai:gpt-upstream", input_tokens: FAKE_OPENAI_USAGE.prompt_tokens, output_tokens: FAKE_OPENAI_USAGE.completion_tokens });
  });

  it("writes Anthropic prompt-cache reads and writes to the usage row, priced apart from plain input, streamed or not", async () => {
    const cached = [{ type: "text" as const, text: "a long shared prefix", cache_control: { type: "ephemeral" as const } }];
    const { cache_creation_input_tokens: written, cache_read_input_tokens: read } = FAKE_ANTHROPIC_CACHE_USAGE;
    const input = FAKE_ANTHROPIC_USAGE.input_tokens + written + read;
    const cost = costOf("anthropic", CLAUDE, { inputTokens: input, outputTokens: FAKE_ANTHROPIC_USAGE.output_tokens, cachedInputTokens: read, cacheCreationInputTokens: written });
    await anthropic.messages.create({ model: "claude", max_tokens: 8, system: cached, messages: user("cache") });
    for await (const _ of await anthropic.messages.create({ model: "claude", max_tokens: 8, system: cached, messages: user("cache"), stream: true }));
    const rows = await eventually(() => store.requests.recent(2), (r) => r.length === 2 && r.every((x) => x.api === "anthropic" && x.cache_creation_tokens === written), "both rows");
    for (const row of rows) {
      expect(row).to.deep.include({ backend: `anthropic:${CLAUDE}`, input_tokens: input, cached_tokens: read, cache_creation_tokens: written });
      expect(row.cost_usd).to.be.closeTo(cost!, 1e-12);
    }
    // `mlxm usage` adds up the cache writes too.
    const all = await store.requests.recent(1000);
    const [total] = await store.requests.summarise("2000-01-01T00:00:00Z", undefined);
    expect(total!.cache_creation_tokens).to.equal(all.reduce((sum, r) => sum + (r.cache_creation_tokens ?? 0), 0)).and.to.be.at.least(2 * written);
  });

  it("forwards count_tokens for a name routed to Anthropic, and refuses it for other upstreams as before", async () => {
    const body = { model: "claude", system: "be brief", messages: user("count me"), tools: [{ name: "t", input_schema: { type: "object" as const } }] };
    const count = await anthropic.messages.countTokens(body, { headers: { "anthropic-beta": "token-counting-2024-11-01" } });
    expect(count).to.deep.equal({ input_tokens: FAKE_ANTHROPIC_COUNT });
    expect(claude.requests.at(-1)!.url).to.equal("/v1/messages/count_tokens");
    expect(sent(claude)).to.deep.equal({ ...body, model: CLAUDE });
    expect(claude.requests.at(-1)!.headers["anthropic-beta"]).to.equal("token-counting-2024-11-01");

    const err = await anthropic.messages.countTokens({ model: "gpt-pass", messages: user("hi") }).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(Anthropic.BadRequestError);
    expect(JSON.stringify((err as InstanceType<typeof Anthropic.BadRequestError>).error)).to.match(/routed to openai/);
  });

  it("falls back before the first byte (503s, after the SDK's retries) to another protocol's upstream", async () => {
    const before = up.requests.length;
    const since = new Date().toISOString();
    script.push({ status: 503, retryAfter: "0" }, { status: 503, retryAfter: "0" }, { status: 503, retryAfter: "0" });
    const res = await openai.chat.completions.create({ model: "gpt-pass", messages: user("hi"), max_tokens: 20 }).withResponse();
    expect(up.requests.length - before).to.equal(3);
    expect(res.response.headers.get("x-mlxm-backend")).to.equal(`anthropic:${CLAUDE}`);
    expect(res.data.choices[0]!.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    // The fallback served it: its row is a success, not an error carrying the first backend's 503.
    const rowOf = async () => (await store.requests.recent(1000)).find((r) => r.created_at >= since && r.model === "gpt-pass");
    const row = await eventually(rowOf, (r) => r !== undefined, "the row");
    expect(row!.backend).to.equal(`anthropic:${CLAUDE}`);
    expect([row!.status_code, row!.error]).to.deep.equal([200, null]);
  });

  it("falls back from a 200 that is no event stream (an HTML page, JSON to a stream request): nothing reached the caller", async () => {
    for (const wrongAnswer of [
      { contentType: "text/html", body: "<html>hello</html>" },
      { contentType: "application/json", body: JSON.stringify({ id: "x", object: "chat.completion", choices: [] }) },
      { contentType: "text/event-stream", body: "" },
    ]) {
      script.push({ wrongAnswer });
      const res = await openai.chat.completions.create({ model: "gpt-pass", messages: user("hi"), max_tokens: 20, stream: true }).withResponse();
      let text = "";
      for await (const chunk of res.data) text += chunk.choices[0]?.delta.content ?? "";
      expect(res.response.headers.get("x-mlxm-backend"), wrongAnswer.contentType).to.equal(`anthropic:${CLAUDE}`);
      expect(text).to.equal(FAKE_ANTHROPIC_REPLY);
    }
  });

  it("never retries once the first byte reached the caller", async () => {
    const before = up.requests.length;
    const claudeBefore = claude.requests.length;
    script.push({ cutAfterFirstChunk: true });
    const stream = await openai.chat.completions.create({ model: "gpt-pass", messages: user("hi"), stream: true });
    let text = "";
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    })().then(() => undefined, (err: unknown) => err);
    expect(text).to.equal(FAKE_OPENAI_REPLY.split(/(?<= )/)[0]);
    expect(failure).to.be.instanceOf(Error);
    expect(up.requests.length - before).to.equal(1);
    expect(claude.requests.length - claudeBefore).to.equal(0);
  });

  it("cancels the upstream when the caller disconnects, and frees the route's slot", async () => {
    let closed!: () => void;
    const upstreamClosed = new Promise<void>((r) => (closed = r));
    script.push({ holdOpen: true, onClose: () => closed() });
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: "one-at-a-time", messages: user("hold"), stream: true }, { signal: controller.signal });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    controller.abort();
    await upstreamClosed;
    // The concurrency cap of 1 is free again: the next request is served, not refused.
    const next = await eventually(
      () => openai.chat.completions.create({ model: "one-at-a-time", messages: user("again") }).then(() => "ok", (e: APIError) => String(e.status)),
      (v) => v === "ok",
      "the slot freed",
    );
    expect(next).to.equal("ok");
    // OpenAI reports usage only in a stream's last chunk, which never came: the row's counts are unknown, not 0.
    const row = await eventually(
      async () => (await store.requests.recent(1000)).find((r) => r.model === "one-at-a-time" && r.status_code === 499),
      (r) => r !== undefined,
      "the cancelled request's row",
    );
    expect(row).to.deep.include({ input_tokens: null, output_tokens: null, cached_tokens: null, cost_usd: null });
  });

  it("counts what Anthropic reported of a stream its caller left, passed through or translated, in a 499 row", async () => {
    const since = new Date().toISOString();
    const cancelledRow = async (api: string) =>
      (await store.requests.recent(1000)).find((r) => r.created_at >= since && r.api === api && r.status_code === 499);
    // The stream's start (with the prompt's usage) and first text arrive; then the caller goes away.
    const leave = async (read: (signal: AbortSignal) => Promise<AsyncIterator<unknown>>) => {
      let closed!: () => void;
      const upstreamClosed = new Promise<void>((r) => (closed = r));
      claudeScript.push({ holdOpen: true, onClose: () => closed() });
      const controller = new AbortController();
      const it = await read(controller.signal);
      await it.next();
      controller.abort();
      await it.return?.().catch(() => {});
      await upstreamClosed;
    };
    await leave(async (signal) => (await anthropic.messages.create({ model: "claude", max_tokens: 64, messages: user("leave"), stream: true }, { signal }))[Symbol.asyncIterator]());
    await leave(async (signal) => (await openai.chat.completions.create({ model: "claude", messages: user("leave"), stream: true }, { signal }))[Symbol.asyncIterator]());
    // message_start said the prompt's size and the one output token so far.
    for (const api of ["anthropic", "openai"]) {
      const row = await eventually(() => cancelledRow(api), (r) => r !== undefined, `the ${api} caller's row`);
      expect(row, api).to.deep.include({ backend: `anthropic:${CLAUDE}`, input_tokens: FAKE_ANTHROPIC_USAGE.input_tokens, output_tokens: 1 });
    }
  });

  it("answers a route's limit with 429 in the caller's shape", async () => {
    script.push({ holdOpen: true, onClose: () => {} });
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: "one-at-a-time", messages: user("hold") , stream: true }, { signal: controller.signal });
    await stream[Symbol.asyncIterator]().next();
    const err = await openai.chat.completions.create({ model: "one-at-a-time", messages: user("hi") }).then(() => undefined, (e: unknown) => e as APIError);
    controller.abort();
    expect(err).to.be.instanceOf(OpenAI.RateLimitError);
    expect(err!.headers?.get("retry-after")).to.equal("1");
  });

  it("forwards /v1/completions to an OpenAI route, and refuses it for an Anthropic route in OpenAI's shape", async () => {
    const c = await openai.completions.create({ model: "gpt-pass", prompt: "Once", max_tokens: 5, logprobs: 2, suffix: "end" });
    expect(sent(up)).to.deep.equal({ model: "gpt-upstream", prompt: "Once", max_tokens: 5, logprobs: 2, suffix: "end" });
    expect(c.model).to.equal("gpt-pass");
    expect(c.choices[0]!.text).to.equal(FAKE_OPENAI_REPLY);
    let text = "";
    for await (const part of await openai.completions.create({ model: "gpt-pass", prompt: "Once", stream: true })) text += part.choices[0]?.text ?? "";
    expect(text).to.equal(FAKE_OPENAI_REPLY);

    const err = await openai.completions.create({ model: "claude", prompt: "Once" }).then(() => undefined, (e: unknown) => e as APIError);
    expect(err).to.be.instanceOf(OpenAI.BadRequestError);
    expect(err!.error).to.deep.include({ param: "model", type: "invalid_request_error" });
    expect((err!.error as { message: string }).message).to.match(/routed to anthropic/);
  });

  it("serves Ollama's fill-in-the-middle and raw /api/generate from an OpenAI route's text completions API; an Anthropic route has none", async () => {
    const generate = (body: object) => fetch(`${d.baseUrl}/api/generate`, { method: "POST", body: JSON.stringify({ model: "gpt-pass", ...body }) });
    const sent = () => ({ url: up.requests.at(-1)!.url, body: JSON.parse(up.requests.at(-1)!.body) as Record<string, unknown> });

    // Continue's autocomplete, as it asks Ollama.
    const fim = await generate({ prompt: "def f(", suffix: ")", stream: false, options: { temperature: 0.2, num_predict: 8, stop: ["\n\n"] } });
    expect(fim.status).to.equal(200);
    expect(fim.headers.get("x-mlxm-backend")).to.equal("openai:gpt-upstream");
    expect(await fim.json()).to.deep.include({ model: "gpt-pass", response: FAKE_OPENAI_REPLY, done: true, prompt_eval_count: FAKE_OPENAI_USAGE.prompt_tokens, eval_count: FAKE_OPENAI_USAGE.completion_tokens });
    expect(sent().url).to.equal("/v1/completions");
    expect(sent().body).to.deep.include({ model: "gpt-upstream", prompt: "def f(", suffix: ")", max_tokens: 8, temperature: 0.2, stop: ["\n\n"], stream: true });

    // Streamed, and a raw prompt without a suffix.
    const raw = await generate({ prompt: "Once upon", raw: true });
    const lines = (await raw.text()).trim().split("\n").map((l) => JSON.parse(l) as { response: string; done: boolean; eval_count?: number });
    expect(lines.map((l) => l.response).join("")).to.equal(FAKE_OPENAI_REPLY);
    expect(lines.at(-1)).to.deep.include({ done: true, eval_count: FAKE_OPENAI_USAGE.completion_tokens });
    expect(sent().body).to.deep.include({ prompt: "Once upon" }).and.not.to.have.property("suffix");

    // Anthropic has no raw completions: a 400 naming what is missing, with nothing sent.
    const before = claude.requests.length;
    const refused = await generate({ model: "claude", prompt: "def f(", suffix: ")", stream: false });
    expect(refused.status).to.equal(400);
    expect(((await refused.json()) as { error: string }).error).to.match(/routed to anthropic, which has no fill-in-the-middle \(suffix\)/);
    expect(claude.requests.length).to.equal(before);
  });

  it("passes upstream errors on in the caller's shape without the key, streamed or not", async () => {
    script.push({ status: 400, message: `bad thing for key ${OPENAI_KEY}` });
    const err = await openai.chat.completions.create({ model: "gpt-pass", messages: user("hi") }).then(() => undefined, (e: unknown) => e as APIError);
    expect(err).to.be.instanceOf(OpenAI.BadRequestError);
    expect(JSON.stringify(err!.error)).to.contain("[redacted]").and.not.to.contain(OPENAI_KEY);

    claudeScript.push({ status: 400, message: `invalid request for key ${ANTHROPIC_KEY}` });
    const aerr = await anthropic.messages.create({ model: "claude", max_tokens: 5, messages: user("hi"), stream: true }).then(() => undefined, (e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    expect(aerr).to.be.instanceOf(Anthropic.BadRequestError);
    expect(JSON.stringify(aerr!.error)).to.contain("[redacted]").and.not.to.contain(ANTHROPIC_KEY);
    const rows = await eventually(() => store.requests.recent(2), (r) => r.length === 2 && r.every((x) => x.status_code === 400), "the error rows");
    expect(JSON.stringify(rows)).not.to.contain(OPENAI_KEY).and.not.to.contain(ANTHROPIC_KEY);
  });

  it("passes no part of a key an upstream echoes masked (OpenAI's 401) to callers of any protocol or to usage rows", async () => {
    const leaks = (text: string) => {
      for (let n = 8; n <= WRONG_KEY.length; n++) expect(text, text).not.to.contain(WRONG_KEY.slice(0, n));
      expect(text).not.to.match(/\*{3}/);
    };
    const messages: string[] = [];
    // Passed through (OpenAI to OpenAI), plain and streamed.
    for (const stream of [false, true]) {
      const err = await openai.chat.completions.create({ model: "gpt-wrong-key", messages: user("hi"), stream }).then(() => undefined, (e: unknown) => e as APIError);
      messages.push((err!.error as { message: string }).message);
    }
    // Translated (Anthropic and Ollama callers): the OpenAI SDK's error path.
    const aerr = await anthropic.messages.create({ model: "gpt-wrong-key", max_tokens: 5, messages: user("hi") }).then(() => undefined, (e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    messages.push((aerr!.error as { error: { message: string } }).error.message);
    const ollama = await fetch(`${d.baseUrl}/api/chat`, { method: "POST", body: JSON.stringify({ model: "gpt-wrong-key", messages: user("hi"), stream: false }) });
    messages.push(((await ollama.json()) as { error: string }).error);
    for (const message of messages) {
      expect(message).to.contain("Incorrect API key provided: [redacted].");
      leaks(message);
    }
    // The passed-through rows carry the upstream's message (the translated ones only their status: no output was sent).
    const rows = await eventually(() => store.requests.recent(4), (r) => r.length === 4 && r.every((x) => x.model === "gpt-wrong-key"), "the four rows");
    const errors = rows.flatMap((r) => (r.error === null ? [] : [r.error]));
    expect(errors).to.have.length.of.at.least(2);
    for (const error of errors) leaks(error);
  });

  it("stores each request's full route template, as metrics and spans name it, whether it succeeded or failed", async () => {
    const post = (path: string, body: object) => fetch(`${d.baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const calls: [string, object][] = [
      ["/v1/chat/completions", { model: "gpt-pass", messages: user("hi") }],
      ["/v1/chat/completions", { model: "gpt-wrong-key", messages: user("hi") }],
      ["/v1/completions", { model: "gpt-pass", prompt: "Once" }],
      ["/v1/embeddings", { model: "gpt-pass", input: "hi" }],
      ["/v1/messages", { model: "claude", max_tokens: 5, messages: user("hi") }],
      ["/v1/messages", { model: "gpt-wrong-key", max_tokens: 5, messages: user("hi") }],
      ["/api/chat", { model: "gpt-pass", messages: user("hi"), stream: false }],
      ["/api/generate", { model: "gpt-wrong-key", prompt: "hi", stream: false }],
    ];
    const since = new Date().toISOString();
    for (const [path, body] of calls) await (await post(path, body)).arrayBuffer();
    // Rows are written in batches: wait for this test's own (earlier tests' may still be arriving).
    const ours = () => store.db.selectFrom("requests").select(["route", "created_at"]).where("created_at", ">=", since).orderBy("created_at").execute();
    const rows = await eventually(ours, (r) => r.length === calls.length, "a row per call");
    // Before, a row said "/chat/completions" or "/" (relative to the router) unless the request failed.
    expect(rows.map((r) => r.route)).to.deep.equal(calls.map(([path]) => path));
  });

  it("still translates when the protocols differ, and refuses there what only the upstream could honour", async () => {
    const c = await openai.chat.completions.create({ model: "claude", messages: user("hi"), max_tokens: 10 });
    expect(c.choices[0]!.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(sent(claude)).to.deep.include({ model: CLAUDE, stream: true });
    const err = await openai.chat.completions.create({ model: "claude", messages: user("hi"), logprobs: true }).then(() => undefined, (e: unknown) => e as APIError);
    expect(err).to.be.instanceOf(OpenAI.BadRequestError);
    expect(err!.error).to.deep.include({ param: "logprobs" });
  });
});
