/**
 * Routing end to end: a real daemon on port 0 in front of fake OpenAI and Anthropic upstreams (real wire formats),
 * called with the official SDKs. Routing by pattern and priority, both cross-protocol directions the daemon serves
 * today (OpenAI and Ollama callers to Anthropic and OpenAI upstreams), fallback before the first byte and never after,
 * sealed keys, limits, model lists and usage rows that add up to what the responses said.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import OpenAI, { type APIError } from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import { calcPrice } from "@pydantic/genai-prices";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { FAKE_ANTHROPIC_REPLY, FAKE_ANTHROPIC_USAGE, startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { FAKE_OPENAI_REPLY, FAKE_OPENAI_TOOL_ARGS, FAKE_OPENAI_USAGE, startFakeOpenAI, type FakeStep } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";
import { GIF, PDF, PNG, pngDataUrl } from "../helpers/images.js";
import { addTestModel } from "../helpers/models.js";

const ANTHROPIC_KEY = "sk-ant-routing0secret0key0do0not0leak0123";
/** A model the price table knows, so cost is real. */
const CLAUDE = "claude-3-5-haiku-latest";
const user = (content: string) => [{ role: "user" as const, content }];
const weather = [{ type: "function" as const, function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

describe("routing to OpenAI, Anthropic and OpenAI-compatible upstreams", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;
  let upA: FakeServer;
  let upB: FakeServer;
  let claude: FakeServer;
  const scriptA: FakeStep[] = [];
  const claudeScript: FakeStep[] = [];

  before(async () => {
    upA = await startFakeOpenAI({ script: scriptA });
    upB = await startFakeOpenAI();
    claude = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY, script: claudeScript });
    // One sequence and no queue: a second local request while one runs is "queue full".
    d = await startTestDaemon({ MLXM_NUM_PARALLEL: "1", MLXM_MAX_QUEUE: "0" });
    store = await Store.open(path.join(d.home, "mlxm.db"));
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    const c = d.admin;
    await c.addRoute({ pattern: "gpt-*", provider: "openai-compatible", base_url: `${upA.url}/v1` });
    await c.addRoute({ pattern: "gpt-4*", provider: "openai-compatible", base_url: `${upB.url}/v1`, model: "upstream-b", priority: 10 });
    await c.addRoute({ pattern: "claude", provider: "anthropic", base_url: claude.url, model: CLAUDE, api_key: ANTHROPIC_KEY });
    await c.addRoute({ pattern: "flaky", provider: "openai-compatible", base_url: `${upA.url}/v1`, model: "flaky-up", fallback: "claude" });
    await c.addRoute({ pattern: "tiny-route", provider: "openai-compatible", base_url: `${upB.url}/v1`, model: "fallback-up" });
    await c.addRoute({ pattern: "limited", provider: "openai-compatible", base_url: `${upB.url}/v1`, requests_per_minute: 1 });
    await c.addRoute({ pattern: "oai-direct", provider: "openai", base_url: `${upB.url}/v1`, api_key: "sk-routing-test" });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
    await Promise.all([upA?.close(), upB?.close(), claude?.close()]);
  });

  const bodyOf = (s: FakeServer) => JSON.parse(s.requests.at(-1)!.body) as Record<string, unknown>;

  it("routes by pattern and priority and says which backend served", async () => {
    const a = await openai.chat.completions.create({ model: "gpt-3.5-turbo", messages: user("hi") }).withResponse();
    expect(a.data.choices[0]!.message.content).to.equal(FAKE_OPENAI_REPLY);
    expect(a.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:gpt-3.5-turbo");
    expect(bodyOf(upA).model).to.equal("gpt-3.5-turbo");

    const b = await openai.chat.completions.create({ model: "gpt-4o", messages: user("hi") }).withResponse();
    expect(b.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:upstream-b");
    expect(bodyOf(upB).model).to.equal("upstream-b");
    expect(b.data.usage).to.deep.include({ prompt_tokens: FAKE_OPENAI_USAGE.prompt_tokens, completion_tokens: FAKE_OPENAI_USAGE.completion_tokens });
  });

  it("serves an OpenAI request from Anthropic, plain and streamed with tools", async () => {
    const plain = await openai.chat.completions.create({ model: "claude", messages: [{ role: "system", content: "be brief" }, ...user("hi")], max_tokens: 50 });
    expect(plain.choices[0]!.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(plain.usage).to.deep.include({ prompt_tokens: FAKE_ANTHROPIC_USAGE.input_tokens, completion_tokens: FAKE_ANTHROPIC_USAGE.output_tokens });
    const sent = bodyOf(claude);
    expect(sent).to.deep.include({ model: CLAUDE, system: "be brief", max_tokens: 50, stream: true });
    expect(sent.messages).to.deep.equal([{ role: "user", content: [{ type: "text", text: "hi" }] }]);

    const stream = await openai.chat.completions.create({ model: "claude", messages: user("weather?"), tools: weather, stream: true });
    let args = "";
    let name = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call?.function?.name) name = call.function.name;
      args += call?.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).to.equal("get_weather");
    expect(JSON.parse(args)).to.deep.equal({ city: "Paris" });
    expect(finish).to.equal("tool_calls");
    expect((bodyOf(claude).tools as { name: string; input_schema: unknown }[])[0]).to.deep.equal({
      name: "get_weather",
      description: "Weather in a city",
      input_schema: weather[0]!.function.parameters,
    });

    // Structured output reaches Anthropic as its own output_config (before, it was dropped and prose came back).
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
    await openai.chat.completions.create({ model: "claude", messages: user("json"), response_format: { type: "json_schema", json_schema: { name: "a", schema } } });
    expect(bodyOf(claude).output_config).to.deep.equal({ format: { type: "json_schema", schema } });
    const schemaless = await openai.chat.completions.create({ model: "claude", messages: user("json"), response_format: { type: "json_object" } }).catch((e: unknown) => e as APIError);
    expect([(schemaless as APIError).status, (schemaless as APIError).param]).to.deep.equal([400, "response_format"]);
  });

  it("refuses, before any upstream call, a sampling option a translated route cannot honour, in the caller's shape", async () => {
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const sentTo = (s: FakeServer) => s.requests.length;
    const [claudeBefore, upBBefore] = [sentTo(claude), sentTo(upB)];
    // OpenAI's API to Anthropic: no penalties there (before, they were dropped without a word).
    const penalty = await openai.chat.completions.create({ model: "claude", messages: user("hi"), presence_penalty: -2 }).catch((e: unknown) => e as APIError);
    expect(penalty).to.be.instanceOf(OpenAI.BadRequestError);
    expect((penalty as APIError).param).to.equal("presence_penalty");
    expect((penalty as APIError).message).to.contain("anthropic");
    // Ollama's API to Anthropic: no seed.
    const seeded = await fetch(`${d.baseUrl}/api/chat`, { method: "POST", body: JSON.stringify({ model: "claude", stream: false, messages: user("hi"), options: { seed: 42 } }) });
    expect(seeded.status).to.equal(400);
    expect(((await seeded.json()) as { error: string }).error).to.match(/^seed is not supported by anthropic/);
    // Anthropic's API to OpenAI itself: no top_k (which this SDK version's types lack, though the API takes it).
    const withTopK = { max_tokens: 8, messages: user("hi"), top_k: 5 };
    const topK = await anthropic.messages.create({ model: "oai-direct", ...withTopK }).catch((e: unknown) => e as Error);
    expect(topK).to.be.instanceOf(Anthropic.BadRequestError);
    expect((topK as Error).message).to.contain("top_k is not supported by openai");
    expect([sentTo(claude), sentTo(upB)], "no upstream was asked").to.deep.equal([claudeBefore, upBBefore]);

    // The values that change nothing pass, as clients send them by default; an OpenAI-compatible server takes top_k.
    const zero = await openai.chat.completions.create({ model: "claude", messages: user("hi"), presence_penalty: 0, frequency_penalty: 0 });
    expect(zero.choices[0]!.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(bodyOf(claude)).to.not.have.any.keys("presence_penalty", "frequency_penalty");
    await anthropic.messages.create({ model: "gpt-4o", ...withTopK });
    expect(bodyOf(upB)).to.include({ top_k: 5 });
  });

  it("serves a routed name with Ollama's :latest tag as the name, sending the upstream the name without it", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    // A glob route and an exact one.
    const viaGlob = await ollama.chat({ model: "gpt-3.5-turbo:latest", messages: user("hi") });
    expect(viaGlob.message.content).to.equal(FAKE_OPENAI_REPLY);
    expect(bodyOf(upA).model).to.equal("gpt-3.5-turbo");
    const viaExact = await ollama.chat({ model: "claude:latest", messages: user("hi") });
    expect(viaExact.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(bodyOf(claude).model).to.equal(CLAUDE);
    expect((await ollama.show({ model: "claude:latest" })).details.format).to.equal("remote");
  });

  it("passes a caller's reasoning on: OpenAI's reasoning_effort as Anthropic thinking, Anthropic thinking and Ollama's think as reasoning_effort", async () => {
    // An OpenAI caller to Anthropic: a level becomes a thinking budget, max_tokens raised above it (none was given).
    await openai.chat.completions.create({ model: "claude", messages: user("why?"), reasoning_effort: "high" });
    expect(bodyOf(claude)).to.deep.include({ thinking: { type: "enabled", budget_tokens: 4096 }, max_tokens: 4096 + 4096 });
    await openai.chat.completions.create({ model: "claude", messages: user("why?"), reasoning_effort: "none", max_tokens: 64 });
    expect(bodyOf(claude)).to.deep.include({ thinking: { type: "disabled" }, max_tokens: 64 });
    // An Anthropic caller to an OpenAI-speaking upstream: the budget's nearest level.
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    await anthropic.messages.create({ model: "gpt-3.5-turbo", max_tokens: 4000, messages: user("why?"), thinking: { type: "enabled", budget_tokens: 3000 } });
    expect(bodyOf(upA).reasoning_effort).to.equal("high");
    // Ollama's think level, as is.
    await new Ollama({ host: d.baseUrl }).chat({ model: "gpt-3.5-turbo", messages: user("why?"), think: "low" });
    expect(bodyOf(upA).reasoning_effort).to.equal("low");
    // A model that does not reason refuses the setting: sent once more without it (Codex and Claude Code send it on
    // every request, whatever the model).
    let before = upA.requests.length;
    scriptA.push({ status: 400, message: "Unsupported parameter: 'reasoning_effort' is not supported with this model." });
    const plain = await new Ollama({ host: d.baseUrl }).chat({ model: "gpt-3.5-turbo", messages: user("why?"), think: "high" });
    expect(plain.message.content).to.equal(FAKE_OPENAI_REPLY);
    expect(upA.requests.slice(before).map((r) => (JSON.parse(r.body) as { reasoning_effort?: string }).reasoning_effort)).to.deep.equal(["high", undefined]);
    before = claude.requests.length;
    claudeScript.push({ status: 400, message: "thinking.type.enabled is not supported for this model. Use thinking.type.adaptive" });
    const claudeAnswer = await openai.chat.completions.create({ model: "claude", messages: user("why?"), reasoning_effort: "low" });
    expect(claudeAnswer.choices[0]!.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(claude.requests.slice(before).map((r) => (JSON.parse(r.body) as { thinking?: { type: string } }).thinking?.type)).to.deep.equal(["enabled", undefined]);
    // A token limit no thinking budget fits under is refused in the caller's shape, before any upstream call.
    before = claude.requests.length;
    const err = await openai.chat.completions.create({ model: "claude", messages: user("why?"), reasoning_effort: "low", max_tokens: 100 }).then(() => undefined, (e: unknown) => e as APIError);
    expect([err?.status, err?.param]).to.deep.equal([400, "reasoning_effort"]);
    expect(claude.requests.length).to.equal(before);
  });

  it("keeps the tools for Anthropic when tool_choice is none (its history holds tool_use blocks) and says one call per turn", async () => {
    const history: OpenAI.ChatCompletionMessageParam[] = [
      ...user("weather?"),
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ];
    await openai.chat.completions.create({ model: "claude", messages: history, tools: weather, tool_choice: "none" });
    expect((bodyOf(claude).tools as unknown[]).length).to.equal(1);
    expect(bodyOf(claude).tool_choice).to.deep.equal({ type: "none" });
    await openai.chat.completions.create({ model: "claude", messages: user("weather?"), tools: weather, parallel_tool_calls: false });
    expect(bodyOf(claude).tool_choice).to.deep.equal({ type: "auto", disable_parallel_tool_use: true });
  });

  it("gives an Anthropic stream from an OpenAI upstream its prompt's size in message_delta, where the SDK reads it", async () => {
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: "gpt-4o", max_tokens: 8, messages: user("hi") });
    const usages: Record<string, unknown>[] = [];
    stream.on("streamEvent", (event) => {
      if (event.type === "message_start") usages.push({ ...event.message.usage });
      if (event.type === "message_delta") usages.push({ ...event.usage });
    });
    const final = await stream.finalMessage();
    const whole = { input_tokens: FAKE_OPENAI_USAGE.prompt_tokens, output_tokens: FAKE_OPENAI_USAGE.completion_tokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    // OpenAI says the prompt's size only at the end: message_start has no count (none is guessed), message_delta has it.
    expect(usages).to.deep.equal([{ ...whole, input_tokens: 0, output_tokens: 0 }, whole]);
    expect(final.usage).to.deep.include(whole);
  });

  it("passes embeddings' dimensions and token-id inputs to an upstream; a local model refuses both in OpenAI's shape", async () => {
    const e = await openai.embeddings.create({ model: "gpt-embed", input: [[1, 2, 3], [4]], dimensions: 8, encoding_format: "float" });
    expect(e.data).to.have.length(2);
    expect(bodyOf(upA)).to.deep.include({ input: [[1, 2, 3], [4]], dimensions: 8 });
    const refused = async (body: Record<string, unknown>) => {
      const err = (await openai.embeddings.create({ model: "mlxm-tiny", input: "x", ...body } as never).catch((x: unknown) => x)) as APIError;
      return [err.status, err.param];
    };
    expect(await refused({ dimensions: 8 })).to.deep.equal([400, "dimensions"]);
    expect(await refused({ input: [1, 2] })).to.deep.equal([400, "input"]);
  });

  it("serves an Ollama request from an OpenAI upstream, streamed and not, with tools", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    const res = await ollama.chat({ model: "gpt-3.5-turbo", messages: user("weather?"), tools: weather, stream: false });
    expect(res.message.tool_calls?.[0]?.function).to.deep.include({ name: "get_weather", arguments: JSON.parse(FAKE_OPENAI_TOOL_ARGS) });
    expect(bodyOf(upA).tools).to.deep.equal(weather);

    let text = "";
    let last;
    for await (const part of await ollama.chat({ model: "gpt-3.5-turbo", messages: user("hi"), stream: true })) {
      text += part.message.content;
      last = part;
    }
    expect(text).to.equal(FAKE_OPENAI_REPLY);
    expect(last?.done).to.equal(true);
    expect(last?.eval_count).to.equal(FAKE_OPENAI_USAGE.completion_tokens);
  });

  it("carries an Anthropic caller's image and PDF to an OpenAI route as image_url and file parts, the same bytes", async () => {
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const m = await anthropic.messages.create({
      model: "gpt-vision",
      max_tokens: 20,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF }, title: "a.pdf" },
            { type: "text", text: "what is this?" },
          ],
        },
      ],
    });
    expect(m.content).to.deep.equal([{ type: "text", text: FAKE_OPENAI_REPLY }]);
    expect(bodyOf(upA).messages).to.deep.equal([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: pngDataUrl } },
          { type: "file", file: { file_data: `data:application/pdf;base64,${PDF}`, filename: "a.pdf" } },
          { type: "text", text: "what is this?" },
        ],
      },
    ]);
  });

  it("carries an OpenAI caller's images to an Anthropic route, streamed: a data: URL as a base64 block, an http URL as a url source", async () => {
    const stream = await openai.chat.completions.create({
      model: "claude",
      stream: true,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "compare" },
            { type: "image_url", image_url: { url: `data:image/gif;base64,${GIF}`, detail: "low" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          ],
        },
      ],
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).to.equal(FAKE_ANTHROPIC_REPLY);
    expect(bodyOf(claude).messages).to.deep.equal([
      {
        role: "user",
        content: [
          { type: "text", text: "compare" },
          { type: "image", source: { type: "base64", media_type: "image/gif", data: GIF } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        ],
      },
    ]);
  });

  it("carries Responses input_image and Ollama's base64 images (typed by their first bytes) to an OpenAI route", async () => {
    await openai.responses.create({ model: "gpt-vision", input: [{ role: "user", content: [{ type: "input_text", text: "see" }, { type: "input_image", image_url: pngDataUrl, detail: "auto" }] }] });
    expect(bodyOf(upA).messages).to.deep.equal([{ role: "user", content: [{ type: "text", text: "see" }, { type: "image_url", image_url: { url: pngDataUrl, detail: "auto" } }] }]);

    await new Ollama({ host: d.baseUrl }).chat({ model: "gpt-vision", messages: [{ role: "user", content: "see", images: [GIF] }], stream: false });
    expect(bodyOf(upA).messages).to.deep.equal([{ role: "user", content: [{ type: "image_url", image_url: { url: `data:image/gif;base64,${GIF}` } }, { type: "text", text: "see" }] }]);
  });

  it("refuses an image to a local text-only model with a 400 in each protocol, naming the model", async () => {
    const why = /images are not supported: "mlxm-tiny" is a local text-only model/;
    const image = { type: "image_url" as const, image_url: { url: pngDataUrl } };
    const o = (await openai.chat.completions.create({ model: "mlxm-tiny", messages: [{ role: "user", content: [image] }] }).catch((e: unknown) => e)) as APIError;
    expect([o.status, o.param]).to.deep.equal([400, "messages"]);
    expect(o.message).to.match(why);

    const r = (await openai.responses.create({ model: "mlxm-tiny", input: [{ role: "user", content: [{ type: "input_image", image_url: pngDataUrl, detail: "auto" }] }] }).catch((e: unknown) => e)) as APIError;
    expect([r.status, r.param]).to.deep.equal([400, "input"]);

    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const content = [{ type: "image" as const, source: { type: "base64" as const, media_type: "image/png" as const, data: PNG } }];
    const a = (await anthropic.messages.create({ model: "mlxm-tiny", max_tokens: 4, stream: true, messages: [{ role: "user", content }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(a.status).to.equal(400);
    const body = (a.error as { error: { type: string; message: string } }).error;
    expect(body.type).to.equal("invalid_request_error");
    expect(body.message).to.match(why);

    const res = await fetch(`${d.baseUrl}/api/chat`, { method: "POST", body: JSON.stringify({ model: "mlxm-tiny", messages: [{ role: "user", content: "x", images: [PNG] }] }) });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { error: string }).error).to.match(why);
  });

  it("retries a 429 honouring retry-after, then falls back after repeated 503s, before the first byte", async () => {
    const before = upA.requests.length;
    scriptA.push({ status: 429, retryAfter: "0" });
    const ok = await openai.chat.completions.create({ model: "flaky", messages: user("hi") }).withResponse();
    expect(ok.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:flaky-up");
    expect(upA.requests.length - before).to.equal(2);

    const claudeBefore = claude.requests.length;
    scriptA.push({ status: 503, retryAfter: "0" }, { status: 503, retryAfter: "0" }, { status: 503, retryAfter: "0" });
    const fb = await openai.chat.completions.create({ model: "flaky", messages: user("hi") }).withResponse();
    expect(fb.response.headers.get("x-mlxm-backend")).to.equal(`anthropic:${CLAUDE}`);
    expect(fb.data.choices[0]!.message.content).to.equal(FAKE_ANTHROPIC_REPLY);
    // Bounded: one try and two retries upstream, then exactly one request to the fallback.
    expect(upA.requests.length - before).to.equal(2 + 3);
    expect(claude.requests.length - claudeBefore).to.equal(1);
  });

  it("falls back, translating, from an upstream stream that carried no event (HTML, JSON, an empty body)", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    const since = new Date().toISOString();
    for (const wrongAnswer of [
      { contentType: "text/html", body: "<html>hello</html>" },
      { contentType: "application/json", body: "{}" },
      { contentType: "text/event-stream", body: "" },
    ]) {
      // Three answers: the SDK's own retries do not apply to a 200.
      scriptA.push({ wrongAnswer });
      let text = "";
      for await (const part of await ollama.chat({ model: "flaky", messages: user("hi"), stream: true })) text += part.message.content;
      expect(text, wrongAnswer.contentType).to.equal(FAKE_ANTHROPIC_REPLY);
    }
    // The fallback served them all: their rows are successes, not errors carrying the first backend's failure.
    const rowsOf = async () => (await store.requests.recent(1000)).filter((r) => r.created_at >= since && r.api === "ollama" && r.model === "flaky");
    let rows: Awaited<ReturnType<typeof rowsOf>> = [];
    await eventually(async () => (rows = await rowsOf()).length === 3, "the three rows");
    expect(rows.map((r) => [r.status_code, r.error, r.backend])).to.deep.equal(Array(3).fill([200, null, `anthropic:${CLAUDE}`]));
  });

  it("never retries or falls back once the first byte reached the client", async () => {
    const before = upA.requests.length;
    const claudeBefore = claude.requests.length;
    scriptA.push({ cutAfterFirstChunk: true });
    const stream = await openai.chat.completions.create({ model: "flaky", messages: user("hi"), stream: true });
    let text = "";
    let failure: unknown;
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    } catch (err) {
      failure = err;
    }
    expect(text).to.equal(FAKE_OPENAI_REPLY.split(/(?<= )/)[0]);
    expect(failure, "the cut stream ends in an error").to.be.instanceOf(Error);
    expect(upA.requests.length - before).to.equal(1);
    expect(claude.requests.length - claudeBefore).to.equal(0);
  });

  it("falls back from a missing local model and from a full local queue; a local model of the name wins", async () => {
    const missing = await openai.chat.completions.create({ model: "tiny-route", messages: user("hi") }).withResponse();
    expect(missing.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:fallback-up");

    await addTestModel(store, "tiny-route", { nEmbd: 384, nLayers: 6, nHead: 6, nFf: 1024 });
    const local = await openai.chat.completions.create({ model: "tiny-route", messages: user("hi"), max_tokens: 2 }).withResponse();
    expect(local.response.headers.get("x-mlxm-backend")).to.equal("local");

    // Hold the only sequence with a long local stream, then ask again: the queue is full, so the route serves it.
    const controller = new AbortController();
    const long = await openai.chat.completions.create({ model: "tiny-route", messages: user("go on"), max_tokens: 1500, stream: true }, { signal: controller.signal });
    const it = long[Symbol.asyncIterator]();
    await it.next();
    const busy = await openai.chat.completions.create({ model: "tiny-route", messages: user("hi") }).withResponse();
    expect(busy.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:fallback-up");
    controller.abort();
    await it.return?.().catch(() => {});
  });

  it("hands what the local model of a name cannot take (images, a fill-in-the-middle suffix) to the route of that name", async () => {
    // "tiny-route" is a local text-only model since the test before, which served text locally.
    const before = upB.requests.length;
    const since = new Date().toISOString();
    const image = { type: "image_url" as const, image_url: { url: pngDataUrl } };
    const seen = await openai.chat.completions.create({ model: "tiny-route", messages: [{ role: "user", content: [{ type: "text", text: "what is it?" }, image] }] }).withResponse();
    expect(seen.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:fallback-up");
    expect(JSON.stringify(bodyOf(upB).messages)).to.contain(pngDataUrl);

    // Translated too: Ollama's images to the OpenAI-speaking route.
    const ollama = await fetch(`${d.baseUrl}/api/chat`, { method: "POST", body: JSON.stringify({ model: "tiny-route", stream: false, messages: [{ role: "user", content: "x", images: [PNG] }] }) });
    expect(ollama.status).to.equal(200);
    expect(ollama.headers.get("x-mlxm-backend")).to.equal("openai-compatible:fallback-up");
    expect(JSON.stringify(bodyOf(upB).messages)).to.contain(PNG);

    const fim = await openai.completions.create({ model: "tiny-route", prompt: "def f(", suffix: "\n  return x", max_tokens: 4 }).withResponse();
    expect(fim.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:fallback-up");
    expect(bodyOf(upB)).to.deep.include({ suffix: "\n  return x" });

    // Embeddings a local model cannot make: shortened ones (dimensions), of token ids.
    const embeddings: [{ input: string | number[]; dimensions?: number }, object][] = [
      [{ input: "x", dimensions: 8 }, { input: ["x"], dimensions: 8 }],
      [{ input: [1, 2, 3] }, { input: [[1, 2, 3]] }],
    ];
    for (const [body, sent] of embeddings) {
      const embedded = await openai.embeddings.create({ model: "tiny-route", encoding_format: "float", ...body }).withResponse();
      expect(embedded.response.headers.get("x-mlxm-backend")).to.equal("openai-compatible:fallback-up");
      expect(bodyOf(upB)).to.deep.include(sent);
    }
    expect(upB.requests.length).to.equal(before + 5);

    // Each became one successful row, served by the route: the local refusal is not counted as a failure.
    // A route that cannot serve either (its key is not set): the caller hears the route's reason, which it can fix,
    // not the local model's refusal.
    await d.admin.addRoute({ pattern: "tiny-no-key", provider: "openai", base_url: `${upB.url}/v1`, api_key_env: "MLXM_TEST_KEY_NOT_SET" });
    await addTestModel(store, "tiny-no-key", { nEmbd: 384, nLayers: 6, nHead: 6, nFf: 1024 });
    const unserved = (await openai.chat.completions.create({ model: "tiny-no-key", messages: [{ role: "user", content: [image] }] }).catch((e: unknown) => e)) as APIError;
    expect(unserved.message).to.contain("MLXM_TEST_KEY_NOT_SET");
    // A name nothing serves is not found, images or not.
    const nowhere = (await openai.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: [image] }] }).catch((e: unknown) => e)) as APIError;
    expect(nowhere.status).to.equal(404);

    const rowsSince = () => store.db.selectFrom("requests").where("model", "=", "tiny-route").where("created_at", ">=", since).selectAll().execute();
    await eventually(async () => (await rowsSince()).length === 5, "the rows");
    const rows = await rowsSince();
    expect(rows.map((r) => [r.backend, r.status_code, r.error])).to.deep.equal(Array(5).fill(["openai-compatible:fallback-up", 200, null]));
  });

  it("answers 429 with Retry-After in the caller's shape over a route's request-per-minute cap", async () => {
    await openai.chat.completions.create({ model: "limited", messages: user("hi") });
    const err = await openai.chat.completions.create({ model: "limited", messages: user("hi") }).then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect(err).to.be.instanceOf(OpenAI.RateLimitError);
    expect(Number(err!.headers?.get("retry-after"))).to.be.within(1, 60);
    expect((err!.error as { message: string }).message).to.match(/requests per minute/);
  });

  it("keeps a stored key sealed: not in the database, route list, model list or an upstream error", async () => {
    const routes = await d.client.routes();
    expect(JSON.stringify(routes)).not.to.contain(ANTHROPIC_KEY);
    expect(routes.routes.find((r) => r.pattern === "claude")?.key_source).to.equal("stored");
    const row = await store.routes.find("claude");
    expect(row?.api_key_sealed).to.match(/^v1\./);
    for (const file of fs.readdirSync(d.home).filter((f) => f.startsWith("mlxm.db"))) {
      expect(fs.readFileSync(path.join(d.home, file)).includes(ANTHROPIC_KEY), file).to.equal(false);
    }
    const keyFile = fs.statSync(path.join(d.home, "secret.key"));
    expect(keyFile.mode & 0o777).to.equal(0o600);
    // The fake received the key (so it was really used)…
    expect(claude.requests.at(-1)!.headers["x-api-key"] ?? claude.requests.at(-1)!.headers.authorization).to.contain(ANTHROPIC_KEY);
    // …and an upstream that echoes it in an error does not get it passed on.
    claudeScript.push({ status: 400, message: `invalid request for key ${ANTHROPIC_KEY}` });
    const err = await openai.chat.completions.create({ model: "claude", messages: user("hi") }).then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect(err?.status).to.equal(400);
    expect(JSON.stringify(err?.error)).to.contain("[redacted]").and.not.to.contain(ANTHROPIC_KEY);

    // A password in a base URL would be shown wherever the route is: refused, pointing at the sealed key instead.
    const withPassword = await d.admin
      .addRoute({ pattern: "basic", provider: "openai-compatible", base_url: "http://alice:hunter2pw@127.0.0.1:1/v1" })
      .then(() => undefined, (e: unknown) => e as Error);
    expect(withPassword?.message).to.match(/must not carry credentials.*--api-key-stdin/);
    expect(JSON.stringify(await d.client.routes())).not.to.contain("hunter2pw");
  });

  it("stores a translated route's failure before the first byte on its row, scrubbed, with the error's status", async () => {
    const rowOf = async (api: string, model: string, since: string) =>
      (await store.requests.recent(1000)).find((r) => r.created_at >= since && r.api === api && r.model === model);
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const cases = [
      // An OpenAI caller to Anthropic; the upstream echoes the route's key.
      { api: "openai", model: "claude", script: claudeScript, call: () => openai.chat.completions.create({ model: "claude", messages: user("hi") }) },
      // An Anthropic caller to an OpenAI-speaking upstream.
      { api: "anthropic", model: "gpt-fails", script: scriptA, call: () => anthropic.messages.create({ model: "gpt-fails", max_tokens: 8, messages: user("hi") }) },
    ];
    for (const { api, model, script, call } of cases) {
      const since = new Date().toISOString();
      script.push({ status: 400, message: `no such thing for key ${ANTHROPIC_KEY}` });
      const err = (await call().then(() => undefined, (e: unknown) => e)) as APIError | undefined;
      expect(err?.status, api).to.equal(400);
      let row: Awaited<ReturnType<typeof rowOf>>;
      await eventually(async () => (row = await rowOf(api, model, since)) !== undefined, `the ${api} caller's row`);
      expect(row!.status_code, api).to.equal(400);
      expect(row!.error, api).to.contain("answered 400").and.contain("no such thing").and.not.contain(ANTHROPIC_KEY);
    }
  });

  it("refuses control characters in a pattern, and names any model in x-mlxm-backend as a header can carry it", async () => {
    const bad = await d.admin.addRoute({ pattern: "nl\nx", provider: "openai-compatible", base_url: `${upA.url}/v1` }).then(() => undefined, (e: unknown) => e as APIError);
    expect(bad?.status).to.equal(400);
    // Before, a name beyond Latin-1 (or with a control character) made setting the header throw: a 500.
    const r = await openai.chat.completions.create({ model: "gpt-模型\u0007", messages: user("hi") }).withResponse();
    expect(r.response.headers.get("x-mlxm-backend")).to.equal(`openai-compatible:gpt-${encodeURIComponent("模型")}%07`);
  });

  it("refuses a route that leads back to the daemon at the first hop, without retries (it multiplied into thousands)", async () => {
    await d.admin.addRoute({ pattern: "self-loop", provider: "mlxm", base_url: d.baseUrl });
    const countRows = async () => (await store.db.selectFrom("requests").select("id").where("model", "=", "self-loop").execute()).length;
    for (const call of [
      () => openai.chat.completions.create({ model: "self-loop", messages: user("hi"), max_tokens: 4 }),
      () => new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 }).messages.create({ model: "self-loop", max_tokens: 4, messages: user("hi") }),
    ]) {
      const before = await countRows();
      const err = (await call().then(() => undefined, (e: unknown) => e)) as { status?: number; message?: string } | undefined;
      expect(err?.status).to.equal(502);
      expect(err?.message).to.match(/routing loop/);
      // One row: the caller's request. The request that came round was refused before it became usage, and once.
      await new Promise((r) => setTimeout(r, 200));
      expect((await countRows()) - before).to.equal(1);
    }
  });

  it("tells the SDKs not to retry a route whose key is not set (it cannot work until the daemon's setup changes)", async () => {
    await d.admin.addRoute({ pattern: "keyless", provider: "openai", base_url: `${upA.url}/v1`, api_key_env: "MLXM_TEST_NEVER_SET_KEY" });
    const res = await fetch(`${d.baseUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "keyless", messages: user("hi") }) });
    expect(res.status).to.equal(502);
    expect(res.headers.get("x-should-retry")).to.equal("false");
    expect(((await res.json()) as { error: { message: string } }).error.message).to.contain("MLXM_TEST_NEVER_SET_KEY");
  });

  it("counts a routed model's tokens in /metrics as a local model's are", async () => {
    const tokens = async (type: string) => {
      const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("gen_ai_tokens_total{") && l.includes('model="gpt-metrics"') && l.includes(`type="${type}"`));
      return line ? Number(line.split(" ").at(-1)) : 0;
    };
    await openai.chat.completions.create({ model: "gpt-metrics", messages: user("hi") });
    expect(await tokens("input")).to.equal(FAKE_OPENAI_USAGE.prompt_tokens);
    expect(await tokens("output")).to.equal(FAKE_OPENAI_USAGE.completion_tokens);
  });

  it("lists exact routed names in /v1/models and /api/tags, marked remote", async () => {
    const models = await openai.models.list();
    expect(models.data.find((m) => m.id === "claude")).to.deep.include({ owned_by: "anthropic" });
    expect(models.data.some((m) => m.id === "gpt-*")).to.equal(false);
    const tags = await d.client.list();
    expect(tags.models.find((m) => m.name === "flaky")).to.deep.include({ remote_model: "flaky-up", remote_host: `${upA.url}/v1` });
  });

  it("unloads a routed name as it loads it, answering done_reason unload (it was a 404, so `mlxm stop` failed on a listed name)", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    for (const model of ["flaky", "gpt-4o"]) {
      expect(await ollama.generate({ model, prompt: "", keep_alive: 0 }), model).to.deep.include({ done: true, done_reason: "unload" });
      expect(await ollama.chat({ model, messages: [], keep_alive: 0 }), model).to.deep.include({ done: true, done_reason: "unload" });
      expect((await d.client.stop(model)).done_reason, model).to.equal("unload");
    }
  });

  it("answers deleting a routed name with a 404 naming the route to remove, and keeps the route (it said only 'not found')", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    await ollama.delete({ model: "flaky" }).then(
      () => expect.fail("should throw"),
      (err: { status_code?: number; error?: string }) => {
        expect(err.status_code).to.equal(404);
        expect(err.error).to.equal('model "flaky" has no local files: route "flaky" serves it (`mlxm route rm flaky` removes the route)');
      },
    );
    expect((await d.client.routes()).routes.map((r) => r.pattern)).to.include("flaky");
  });

  it("shows a routed name with /api/show, marked remote (it was a 404, and `ollama run` pulls a name show says is missing)", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    for (const [name, remote_model, remote_host] of [["flaky", "flaky-up", `${upA.url}/v1`], ["gpt-4o", "upstream-b", `${upB.url}/v1`]]) {
      const show = await ollama.show({ model: name! });
      expect(show, name).to.deep.include({ remote_model, remote_host, capabilities: ["completion", "tools"], model_info: {} });
      expect(show.details).to.deep.include({ format: "remote", family: "openai-compatible" });
    }
    await ollama.show({ model: "no-such-model" }).then(
      () => expect.fail("should throw"),
      (err: { status_code?: number }) => expect(err.status_code).to.equal(404),
    );
  });

  it("records every request; usage totals equal the sum of the responses' usage, with cost from the price table", async () => {
    const before = await d.client.usage({ by: "backend" });
    const responses = [
      await openai.chat.completions.create({ model: "claude", messages: user("a") }),
      await openai.chat.completions.create({ model: "gpt-4o", messages: user("b") }),
      await openai.chat.completions.create({ model: "tiny-route", messages: user("c"), max_tokens: 3 }),
      await openai.chat.completions.create({ model: "claude", messages: user("d") }),
    ];
    const sum = (k: "prompt_tokens" | "completion_tokens") => responses.reduce((n, r) => n + r.usage![k], 0);
    let after = before;
    await eventually(async () => (after = await d.client.usage({ by: "backend" })).total.requests === before.total.requests + 4, "four new rows");
    expect(after.total.input_tokens - before.total.input_tokens).to.equal(sum("prompt_tokens"));
    expect(after.total.output_tokens - before.total.output_tokens).to.equal(sum("completion_tokens"));
    const byBackend = (u: typeof after, key: string) => u.rows.find((r) => r.key === key);
    const claudeCost = calcPrice({ input_tokens: FAKE_ANTHROPIC_USAGE.input_tokens, output_tokens: FAKE_ANTHROPIC_USAGE.output_tokens }, CLAUDE, { providerId: "anthropic" })!.total_price;
    const costDelta = byBackend(after, `anthropic:${CLAUDE}`)!.cost_usd! - (byBackend(before, `anthropic:${CLAUDE}`)?.cost_usd ?? 0);
    expect(costDelta).to.be.closeTo(2 * claudeCost, 1e-12);
    expect(byBackend(after, "local")?.cost_usd).to.equal(0);
    const rows = await store.requests.recent(4);
    expect(rows.map((r) => r.api)).to.deep.equal(["openai", "openai", "openai", "openai"]);
    expect(rows.every((r) => r.ttft_ms !== null && r.status_code === 200)).to.equal(true);
  });
});
