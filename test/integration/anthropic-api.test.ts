/**
 * The Anthropic Messages API end to end: the official @anthropic-ai/sdk, unmodified, against a real daemon on port 0
 * and the local engine, with generated random-weight models (one plain ChatML, one whose template has a `<think>`
 * section). The models write noise and run to max_tokens, so assertions are about shapes, counts, stop reasons and
 * round trips, never about what the text says.
 */
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import path from "node:path";
import OpenAI from "openai";
import { REASONING_CHATML_TEMPLATE } from "../../src/daemon/engine/gguf/index.js";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

const MODEL = "tiny-anthropic";
const REASONER = "tiny-reasoner";
const user = (content: string) => [{ role: "user" as const, content }];
/** An enum keeps a random model's forced arguments short (a free string would run to max_tokens). */
const tools: Anthropic.Tool[] = [
  {
    name: "get_weather",
    description: "Weather by city",
    input_schema: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } }, required: ["city"] },
  },
];

describe("Anthropic API with the @anthropic-ai/sdk (local engine)", () => {
  let d: TestDaemon;
  let store: Store;
  let anthropic: Anthropic;

  before(async () => {
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, MODEL);
    await addTestModel(store, REASONER, { chatTemplate: REASONING_CHATML_TEMPLATE });
    anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("lists and retrieves models in Anthropic's shape for the Anthropic SDK, OpenAI's for everyone else", async () => {
    const ids: string[] = [];
    for await (const m of anthropic.models.list({ limit: 1 })) {
      expect(m.type).to.equal("model");
      expect(Number.isFinite(Date.parse(m.created_at))).to.equal(true);
      ids.push(m.id);
    }
    // Paged one at a time through after_id: every model once.
    const all = (await (await fetch(`${d.baseUrl}/v1/models`)).json()) as { object: string; data: { id: string }[] };
    expect(all.object).to.equal("list");
    expect(ids).to.deep.equal(all.data.map((m) => m.id)).and.include(MODEL);
    expect(await anthropic.models.retrieve(MODEL)).to.include({ type: "model", id: MODEL, display_name: MODEL });
  });

  it("creates a message that stops at max_tokens, with exact usage equal to count_tokens", async () => {
    const params = { model: MODEL, max_tokens: 8, system: "Be brief.", messages: user("hello") };
    const count = await anthropic.messages.countTokens({ model: MODEL, system: "Be brief.", messages: user("hello") });
    const m = await anthropic.messages.create(params);
    expect(m.type).to.equal("message");
    expect(m._request_id, "Anthropic's request-id header, as the SDK reads it").to.match(/^req_/);
    expect(m.model).to.equal(MODEL);
    expect(m.stop_reason).to.equal("max_tokens");
    expect(m.stop_sequence).to.equal(null);
    expect(m.content).to.have.length(1);
    expect(m.content[0]!.type).to.equal("text");
    expect(m.usage.output_tokens).to.equal(8);
    expect(count.input_tokens).to.be.greaterThan(0);
    // The whole prompt is input_tokens plus what was reused from an earlier request.
    expect(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0)).to.equal(count.input_tokens);
  });

  it("streams through messages.stream() and finalMessage() with the same usage", async () => {
    const stream = anthropic.messages.stream({ model: MODEL, max_tokens: 8, messages: user("hello") });
    const types: string[] = [];
    stream.on("streamEvent", (event) => types.push(event.type));
    let text = "";
    stream.on("text", (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(types[0]).to.equal("message_start");
    expect(types.slice(-2)).to.deep.equal(["message_delta", "message_stop"]);
    expect(final.stop_reason).to.equal("max_tokens");
    expect(final.usage.output_tokens).to.equal(8);
    expect(final.content).to.deep.equal([{ type: "text", text }]);
    const count = await anthropic.messages.countTokens({ model: MODEL, messages: user("hello") });
    expect(final.usage.input_tokens + (final.usage.cache_read_input_tokens ?? 0)).to.equal(count.input_tokens);
  });

  it("stops at a stop sequence and says which one matched", async () => {
    // Greedy decoding is repeatable: find a piece of the free answer, then ask again with it as a stop sequence.
    const params = { model: MODEL, max_tokens: 16, messages: user("tell me"), temperature: 0, top_k: 1 };
    const free = ((await anthropic.messages.create(params)).content[0] as Anthropic.TextBlock).text;
    const from = Math.max(free.search(/\S{2}/), 1);
    const stop = free.slice(from, from + 2);
    const cut = free.indexOf(stop);
    expect(cut, `a stop sequence inside ${JSON.stringify(free)}`).to.be.greaterThan(0);
    const stopped = await anthropic.messages.create({ ...params, stop_sequences: ["\u0000never", stop] });
    expect(stopped.stop_reason).to.equal("stop_sequence");
    expect(stopped.stop_sequence).to.equal(stop);
    expect((stopped.content[0] as Anthropic.TextBlock).text).to.equal(free.slice(0, cut));
    const streamed = await anthropic.messages.stream({ ...params, stop_sequences: [stop] }).finalMessage();
    expect([streamed.stop_reason, streamed.stop_sequence]).to.deep.equal(["stop_sequence", stop]);
  });

  it("round-trips tool_use → tool_result, not streamed", async () => {
    const m = await anthropic.messages.create({ model: MODEL, max_tokens: 64, messages: user("weather in Paris?"), tools, tool_choice: { type: "tool", name: "get_weather" } });
    expect(m.stop_reason).to.equal("tool_use");
    const call = m.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(call.name).to.equal("get_weather");
    expect(call.input).to.have.property("city").that.is.oneOf(["Paris", "Oslo"]);
    const next = await anthropic.messages.create({
      model: MODEL,
      max_tokens: 4,
      tools,
      messages: [
        ...user("weather in Paris?"),
        { role: "assistant", content: m.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: [{ type: "text", text: "sunny, 21C" }] }] },
      ],
    });
    expect(next.stop_reason).to.be.oneOf(["max_tokens", "end_turn", "tool_use"]);
    expect(next.usage.input_tokens + (next.usage.cache_read_input_tokens ?? 0)).to.be.greaterThan(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0));
  });

  it("round-trips tool_use → tool_result streamed, with input_json_delta reassembled by the SDK", async () => {
    const stream = anthropic.messages.stream({ model: MODEL, max_tokens: 64, messages: user("weather?"), tools, tool_choice: { type: "any" } });
    let json = "";
    stream.on("inputJson", (delta) => (json += delta));
    const m = await stream.finalMessage();
    expect(m.stop_reason).to.equal("tool_use");
    const call = m.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
    expect(JSON.parse(json)).to.deep.equal(call.input);
    const next = await anthropic.messages
      .stream({
        model: MODEL,
        max_tokens: 4,
        tools,
        messages: [
          ...user("weather?"),
          { role: "assistant", content: m.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "error: no such city", is_error: true }] },
        ],
      })
      .finalMessage();
    expect(next.usage.output_tokens).to.be.greaterThan(0);
  });

  it("gives SDK-typed errors: NotFoundError for an unknown model, BadRequestError for what it cannot honour", async () => {
    const missing = await anthropic.messages.create({ model: "nope", max_tokens: 4, messages: user("x") }).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(Anthropic.NotFoundError);
    const noThinking = await anthropic.messages
      .create({ model: MODEL, max_tokens: 8, messages: user("x"), thinking: { type: "enabled", budget_tokens: 4 } })
      .catch((e: unknown) => e);
    expect(noThinking).to.be.instanceOf(Anthropic.BadRequestError);
    expect((noThinking as InstanceType<typeof Anthropic.BadRequestError>).message).to.match(/does not support thinking/);
    // A schema keyword it cannot enforce, in a strict tool, is named where the caller wrote it: input_schema, not
    // OpenAI's path.
    const unenforceable = await anthropic.messages
      .create({ model: MODEL, max_tokens: 8, messages: user("x"), tools: [{ name: "t", strict: true, input_schema: { type: "object", properties: { a: { not: {} } } } } as Anthropic.Tool] })
      .catch((e: unknown) => e);
    expect(unenforceable).to.be.instanceOf(Anthropic.BadRequestError);
    expect((unenforceable as Error).message).to.contain("tools[0].input_schema.properties.a").and.not.contain("function.parameters");
  });

  it("words a prompt longer than the context as Anthropic does (clients such as Claude Code compact on it), streamed or not", async () => {
    const body = { model: MODEL, max_tokens: 4, system: "word ".repeat(5000), messages: user("hi") };
    const { input_tokens } = await anthropic.messages.countTokens({ model: MODEL, system: body.system, messages: body.messages });
    for (const call of [() => anthropic.messages.create(body), () => anthropic.messages.stream(body).finalMessage()]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Anthropic.BadRequestError);
      const message = ((err as InstanceType<typeof Anthropic.BadRequestError>).error as { error: { message: string } }).error.message;
      expect(message).to.equal(`prompt is too long: ${input_tokens} tokens > 2048 maximum (the model's context, MLXM_CONTEXT_SIZE)`);
    }
  });

  it("enforces the deprecated top-level output_format, as older clients send it with the structured-outputs beta", async () => {
    const schema = { type: "object", properties: { size: { type: "string", enum: ["s", "m", "l"] } }, required: ["size"], additionalProperties: false };
    const res = await fetch(`${d.baseUrl}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "anthropic-beta": "structured-outputs-2025-11-13" },
      body: JSON.stringify({ model: MODEL, max_tokens: 40, messages: user("size?"), output_format: { type: "json_schema", schema } }),
    });
    expect(res.status).to.equal(200);
    const m = (await res.json()) as Anthropic.Message;
    expect(m.stop_reason).to.equal("end_turn");
    expect(JSON.parse((m.content[0] as Anthropic.TextBlock).text)).to.have.property("size").that.is.oneOf(["s", "m", "l"]);
  });

  it("answers a full queue with RateLimitError and retry-after", async () => {
    const busy = await startTestDaemon({ MLXM_NUM_PARALLEL: "1", MLXM_MAX_QUEUE: "1" });
    const busyStore = await Store.open(path.join(busy.home, "mlxm.db"));
    try {
      await addTestModel(busyStore, MODEL);
      const client = new Anthropic({ baseURL: busy.baseUrl, apiKey: "unused", maxRetries: 0 });
      const running = new AbortController();
      const first = client.messages.stream({ model: MODEL, max_tokens: 1900, messages: user("long") }, { signal: running.signal });
      await new Promise<void>((resolve) => first.on("streamEvent", () => resolve()));
      const queued = client.messages.create({ model: MODEL, max_tokens: 2, messages: user("queued") });
      for (let i = 0; (await busy.client.ps()).models[0]?.queued_requests !== 1; i++) {
        if (i > 500) throw new Error("never queued");
        await new Promise((r) => setTimeout(r, 20));
      }
      const refused = await client.messages.create({ model: MODEL, max_tokens: 2, messages: user("third") }).catch((e: unknown) => e);
      expect(refused).to.be.instanceOf(Anthropic.RateLimitError);
      expect(Number((refused as InstanceType<typeof Anthropic.RateLimitError>).headers?.get("retry-after"))).to.be.at.least(1);
      running.abort();
      await first.done().catch(() => {});
      expect((await queued).usage.output_tokens).to.equal(2);
    } finally {
      await busyStore.close();
      await busy.stop();
    }
  });

  describe("a model whose template has a reasoning section", () => {
    it("returns thinking blocks, streamed as thinking_delta, then text after the budget", async () => {
      const params = { model: REASONER, max_tokens: 12, messages: user("think"), thinking: { type: "enabled" as const, budget_tokens: 4 } };
      const m = await anthropic.messages.create(params);
      expect(m.content.map((b) => b.type)).to.deep.equal(["thinking", "text"]);
      expect((m.content[0] as Anthropic.ThinkingBlock).thinking).to.not.equal("");
      const stream = anthropic.messages.stream(params);
      let thinking = "";
      stream.on("thinking", (delta) => (thinking += delta));
      const final = await stream.finalMessage();
      expect(thinking).to.not.equal("");
      expect(final.content[0]).to.deep.equal({ type: "thinking", thinking, signature: "" });
      expect(final.usage.output_tokens).to.equal(12);
    });

    it("turns thinking off with thinking.disabled, and count_tokens still matches", async () => {
      const body = { model: REASONER, messages: user("think"), thinking: { type: "disabled" as const } };
      const m = await anthropic.messages.create({ ...body, max_tokens: 6 });
      expect(m.content.map((b) => b.type)).to.deep.equal(["text"]);
      const count = await anthropic.messages.countTokens(body);
      expect(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0)).to.equal(count.input_tokens);
    });

    it("takes thinking.between_tools (thinking off, as the newest SDK sends it) as disabled", async () => {
      const m = await anthropic.messages.create({ model: REASONER, max_tokens: 6, messages: user("think"), thinking: { type: "between_tools" } });
      expect(m.content.map((b) => b.type)).to.deep.equal(["text"]);
    });

    it("is reasoning_content on the OpenAI API and thinking on Ollama's", async () => {
      const openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
      const c = await openai.chat.completions.create({ model: REASONER, messages: user("think"), max_tokens: 6 });
      expect((c.choices[0]!.message as { reasoning_content?: string }).reasoning_content).to.be.a("string").and.not.equal("");
      const res = await fetch(`${d.baseUrl}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: REASONER, messages: user("think"), stream: false, think: true, options: { num_predict: 6 } }),
      });
      const body = (await res.json()) as { message: { thinking?: string } };
      expect(body.message.thinking).to.be.a("string").and.not.equal("");
    });
  });
});
