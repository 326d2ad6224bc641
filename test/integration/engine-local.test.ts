import { expect } from "chai";
import { resolveConfig } from "../../src/config/config.js";
import { collectChat, type ChatEvent, type ChatRequest } from "../../src/daemon/core/chat.js";
import { HttpError } from "../../src/daemon/errors.js";
import { InvalidModelError } from "../../src/daemon/engine/errors.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import { LocalModelService } from "../../src/daemon/engine/local-model-service.js";
import { Store } from "../../src/daemon/store/store.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { poolParking } from "../../src/daemon/engine/pool-parking.js";
import { silentLogger } from "../../src/observability/logger.js";
import { addCorruptModel, addTestModel } from "../helpers/models.js";

const SYSTEM = "You are a test.";

function chatRequest(model: string, overrides: Partial<ChatRequest> = {}, maxTokens = 12): ChatRequest {
  return {
    model,
    messages: [
      { role: "system", content: SYSTEM },
      { role: "user", content: "Hi" },
    ],
    sampling: { maxTokens, temperature: 0.8, seed: 42 },
    ...overrides,
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("local engine (real node-llama-cpp)", function () {
  let store: Store;
  let hold: LlamaLease;
  const services: LocalModelService[] = [];
  const metrics = createMetrics();

  /** A service over the shared store; engine settings from config defaults plus `overrides`. */
  function service(overrides: Record<string, string> = {}): LocalModelService {
    const config = resolveConfig({}, { MLXM_HOME: "/tmp/unused", MLXM_CONTEXT_SIZE: "2048", ...overrides });
    const s = new LocalModelService({ store, engine: config.engine, logger: silentLogger(), metrics, totalMemoryBytes: 8 * 2 ** 30 });
    services.push(s);
    return s;
  }

  before(async () => {
    // Keeps the llama.cpp binding alive across the services of this file (it costs 1-2 s to create).
    hold = leaseLlama({ threads: 1 });
    await hold.llama();
    store = await Store.open(":memory:");
    await addTestModel(store, "tiny", { seed: 1 });
    await addTestModel(store, "tiny-q8", { seed: 2, tensorType: "Q8_0" });
  });

  after(async () => {
    for (const s of services) await s.dispose();
    await store?.close();
    await hold?.release();
  });

  it("streams a start event, text deltas, then done with exact usage and finishReason length", async () => {
    const models = service();
    const events: ChatEvent[] = [];
    for await (const event of models.chat(chatRequest("tiny"), new AbortController().signal)) events.push(event);
    const done = events.at(-1)!;
    expect(done.type).to.equal("done");
    const start = events[0]!;
    expect(start).to.deep.equal({ type: "start", inputTokens: done.type === "done" ? done.usage.inputTokens : -1 });
    const texts = events.slice(1, -1);
    expect(texts.length, "one delta per token or so").to.be.greaterThan(1);
    expect(texts.every((e) => e.type === "text" && e.text.length > 0)).to.equal(true);
    if (done.type !== "done") return;
    expect(done.finishReason).to.equal("length");
    expect(done.usage.outputTokens).to.equal(12);

    // The prompt as the ChatML template renders it, tokenized independently with the model's vocabulary.
    const llama = await hold.llama();
    const files = await store.models.files((await store.models.findByName("tiny"))!.id);
    const vocab = await llama.loadModel({ modelPath: files[0]!.path, vocabOnly: true });
    const rendered = `<s><|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n`;
    expect(done.usage.inputTokens).to.equal(vocab.tokenize(rendered, true).length);
    await vocab.dispose();

    expect(done.timings?.loadMs).to.be.a("number");
    const ps = models.running();
    expect(ps).to.have.length(1);
    expect(ps[0]!.model.name).to.equal("tiny");
    expect(ps[0]).to.include({ vramBytes: 0, activeRequests: 0, queuedRequests: 0, contextLength: 2048 });
    expect(ps[0]!.memoryBytes).to.be.greaterThan(0);
  });

  it("stops on a stop string with finishReason stop", async () => {
    const models = service();
    const result = await collectChat(
      models.chat(chatRequest("tiny", {}, 64), new AbortController().signal),
    );
    // Random weights: find a character the model does write, then stop on it.
    const stopAt = [...result.text.replace(/\s/g, "")][3]!;
    const stopped = await collectChat(
      models.chat(chatRequest("tiny", { sampling: { maxTokens: 64, temperature: 0.8, seed: 42, stop: [stopAt] } }), new AbortController().signal),
    );
    expect(stopped.finishReason).to.equal("stop");
    expect(stopped.text).not.to.contain(stopAt);
    expect(stopped.usage.outputTokens).to.be.lessThan(64);
  });

  it("constrains output to a JSON schema, streaming, and the result validates", async () => {
    const models = service();
    const schema = {
      type: "object",
      properties: { ok: { type: "boolean" }, color: { enum: ["red", "green", "blue"] }, size: { type: "integer" } },
      required: ["ok", "color", "size"],
      additionalProperties: false,
    };
    for (const seed of [1, 2, 3]) {
      const result = await collectChat(
        models.chat(
          chatRequest("tiny", { responseFormat: { type: "json_schema", schema }, sampling: { maxTokens: 96, temperature: 0.8, seed } }),
          new AbortController().signal,
        ),
      );
      expect(result.finishReason, result.text).to.equal("stop");
      const value = JSON.parse(result.text) as { ok: unknown; color: unknown; size: unknown };
      expect(Object.keys(value).sort()).to.deep.equal(["color", "ok", "size"]);
      expect(value.ok).to.be.a("boolean");
      expect(["red", "green", "blue"]).to.include(value.color);
      expect(Number.isInteger(value.size), `size ${String(value.size)}`).to.equal(true);
    }
  });

  it("produces a JSON object for json_object", async () => {
    const result = await collectChat(
      service().chat(chatRequest("tiny", { responseFormat: { type: "json_object" } }, 200), new AbortController().signal),
    );
    expect(result.text.trimStart()).to.match(/^[{[]/);
    if (result.finishReason === "stop") expect(() => JSON.parse(result.text) as unknown).not.to.throw();
  });

  it("calls a tool when tool_choice is required, with parseable arguments", async () => {
    const models = service();
    const tools = [
      {
        name: "get_weather",
        description: "Weather for a city",
        parameters: { type: "object", properties: { city: { enum: ["paris", "rome"] }, days: { type: "integer" } }, required: ["city", "days"] },
      },
      { name: "get_time", parameters: { type: "object", properties: { zone: { enum: ["utc", "cet"] } }, required: ["zone"] } },
    ];
    const events: ChatEvent[] = [];
    for await (const e of models.chat(chatRequest("tiny", { tools, toolChoice: { type: "required" } }, 200), new AbortController().signal)) {
      events.push(e);
    }
    const result = await collectChat((async function* () { yield* events; })());
    expect(result.finishReason).to.equal("tool_calls");
    expect(result.toolCalls).to.have.length(1);
    const call = result.toolCalls[0]!;
    expect(call.id).to.match(/^call_[A-Za-z0-9_-]+$/);
    expect(["get_weather", "get_time"]).to.include(call.name);
    const args = JSON.parse(call.arguments) as Record<string, unknown>;
    if (call.name === "get_weather") {
      expect(["paris", "rome"]).to.include(args.city);
      expect(Number.isInteger(args.days)).to.equal(true);
    } else {
      expect(["utc", "cet"]).to.include(args.zone);
    }

    const named = await collectChat(
      models.chat(chatRequest("tiny", { tools, toolChoice: { type: "tool", name: "get_time" } }, 200), new AbortController().signal),
    );
    expect(named.finishReason).to.equal("tool_calls");
    expect(named.toolCalls.map((c) => c.name)).to.deep.equal(["get_time"]);

    // auto on a model that never calls functions may answer in text; either way the stream completes.
    const auto = await collectChat(models.chat(chatRequest("tiny", { tools, toolChoice: { type: "auto" } }, 8), new AbortController().signal));
    expect(["length", "stop", "tool_calls"]).to.include(auto.finishReason);

    // A conversation with a tool call and its result renders and generates.
    const followUp = await collectChat(
      models.chat(
        chatRequest("tiny", {
          tools,
          messages: [
            { role: "user", content: "Weather in Paris?" },
            { role: "assistant", content: "", toolCalls: [{ id: call.id, name: "get_weather", arguments: '{"city":"paris","days":1}' }] },
            { role: "tool", content: '{"sky":"clear"}', toolCallId: call.id },
          ],
        }, 8),
        new AbortController().signal,
      ),
    );
    expect(followUp.usage.outputTokens).to.be.greaterThan(0);
  });

  it("completes a raw prompt", async () => {
    const result = await collectChat(
      service().complete({ model: "tiny", prompt: "Once upon a time", sampling: { maxTokens: 10, seed: 3 } }, new AbortController().signal),
    );
    expect(result.finishReason).to.equal("length");
    expect(result.usage.outputTokens).to.equal(10);
    expect(result.usage.inputTokens).to.be.greaterThan(4);
    expect(result.text.length).to.be.greaterThan(0);
  });

  it("embeds: one normalised vector of the model's width per input", async () => {
    const result = await service().embed({ model: "tiny", inputs: ["hello world", "the model", "x"] }, new AbortController().signal);
    expect(result.model).to.equal("tiny");
    expect(result.embeddings).to.have.length(3);
    for (const v of result.embeddings) {
      expect(v).to.have.length(64);
      expect(Math.hypot(...v)).to.be.closeTo(1, 1e-6);
    }
    expect(result.usage.inputTokens).to.be.greaterThan(3);
  });

  it("serves 4 concurrent chats on one model", async () => {
    const models = service({ MLXM_NUM_PARALLEL: "4" });
    const results = await Promise.all(
      [1, 2, 3, 4].map((seed) =>
        collectChat(models.chat(chatRequest("tiny-q8", { sampling: { maxTokens: 16, seed, temperature: 0.8 } }), new AbortController().signal)),
      ),
    );
    for (const r of results) {
      expect(r.finishReason).to.equal("length");
      expect(r.usage.outputTokens).to.equal(16);
    }
    expect(models.running()[0]!.activeRequests).to.equal(0);
  });

  it("throws queue_full with Retry-After from the first next() when the queue is full", async () => {
    const models = service({ MLXM_NUM_PARALLEL: "1", MLXM_MAX_QUEUE: "1" });
    const first = new AbortController();
    const running = models.chat(chatRequest("tiny", {}, 1500), first.signal)[Symbol.asyncIterator]();
    expect((await running.next()).value).to.have.property("type", "start"); // generating now
    const second = collectChat(models.chat(chatRequest("tiny", {}, 4), new AbortController().signal));
    await until(() => models.running()[0]?.queuedRequests === 1, "the second request to queue");
    const third = models.chat(chatRequest("tiny", {}, 4), new AbortController().signal)[Symbol.asyncIterator]();
    try {
      await third.next();
      expect.fail("the third request should be refused");
    } catch (err) {
      expect(err).to.be.instanceOf(HttpError);
      expect((err as HttpError).code).to.equal("queue_full");
      expect((err as HttpError).status).to.equal(429);
      expect(Number((err as HttpError).headers?.["retry-after"])).to.be.at.least(1);
    }
    first.abort();
    for (let r = await running.next(); !r.done; r = await running.next()) {
      if (r.value.type === "done") expect(r.value.finishReason).to.equal("cancelled");
    }
    expect((await second).finishReason).to.equal("length");
  });

  it("aborting mid-generation stops at once and frees the sequence for the next request", async () => {
    const models = service({ MLXM_NUM_PARALLEL: "1" });
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    for await (const event of models.chat(chatRequest("tiny", {}, 1900), controller.signal)) {
      events.push(event);
      if (events.length === 3) controller.abort();
    }
    const done = events.at(-1)!;
    expect(done).to.deep.include({ type: "done", finishReason: "cancelled" });
    if (done.type === "done") expect(done.usage.outputTokens).to.be.lessThan(1900);
    expect(models.running()[0]!.activeRequests).to.equal(0);
    const next = await collectChat(models.chat(chatRequest("tiny", {}, 8), new AbortController().signal));
    expect(next.finishReason).to.equal("length");
    expect(next.usage.outputTokens).to.equal(8);
  });

  it("abandoning the iterator early also stops the generation", async () => {
    const models = service({ MLXM_NUM_PARALLEL: "1" });
    for await (const event of models.chat(chatRequest("tiny", {}, 1900), new AbortController().signal)) {
      if (event.type === "start") continue;
      expect(event.type).to.equal("text");
      break;
    }
    expect(models.running()[0]!.activeRequests).to.equal(0);
    expect((await collectChat(models.chat(chatRequest("tiny", {}, 4), new AbortController().signal))).usage.outputTokens).to.equal(4);
  });

  it("evicts the idle model for another when one model may be loaded, but never one in flight", async () => {
    const models = service({ MLXM_MAX_LOADED_MODELS: "1" });
    await collectChat(models.chat(chatRequest("tiny", {}, 4), new AbortController().signal));
    const busy = new AbortController();
    const running = models.chat(chatRequest("tiny", {}, 1900), busy.signal)[Symbol.asyncIterator]();
    expect((await running.next()).value).to.have.property("type", "start"); // generating now
    // tiny is generating: tiny-q8 must wait rather than evict it.
    const waiting = collectChat(models.chat(chatRequest("tiny-q8", {}, 4), new AbortController().signal));
    await new Promise((r) => setTimeout(r, 50));
    expect(models.running().map((m) => [m.model.name, m.activeRequests])).to.deep.equal([["tiny", 1]]);
    busy.abort();
    while (!(await running.next()).done);
    expect((await waiting).usage.outputTokens).to.equal(4);
    expect(models.running().map((m) => m.model.name)).to.deep.equal(["tiny-q8"]);
  });

  for (const corruption of ["truncated", "missing-head-count", "not-gguf"] as const) {
    it(`answers a ${corruption} GGUF with InvalidModelError and keeps serving`, async () => {
      const models = service();
      await addCorruptModel(store, `bad-${corruption}`, corruption);
      try {
        await collectChat(models.chat(chatRequest(`bad-${corruption}`), new AbortController().signal));
        expect.fail("the corrupt model should not load");
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidModelError);
        expect((err as InvalidModelError).status).to.equal(422);
        expect((err as InvalidModelError).message).to.contain(`bad-${corruption}`);
        expect((err as InvalidModelError).message).not.to.contain("/tmp");
      }
      expect(models.running().map((m) => m.model.name)).not.to.include(`bad-${corruption}`);
      const good = await collectChat(models.chat(chatRequest("tiny", {}, 4), new AbortController().signal));
      expect(good.finishReason).to.equal("length");
    });
  }

  it("throws model_not_found for an unknown model", async () => {
    try {
      await service().chat(chatRequest("nope"), new AbortController().signal)[Symbol.asyncIterator]().next();
      expect.fail("should throw");
    } catch (err) {
      expect((err as HttpError).code).to.equal("model_not_found");
    }
  });

  it("keep_alive 0 unloads the model right after the request", async () => {
    const models = service();
    await collectChat(models.chat({ ...chatRequest("tiny", {}, 4), keepAliveMs: 0 }, new AbortController().signal));
    await until(() => models.running().length === 0, "the unload");
    await collectChat(models.chat({ ...chatRequest("tiny", {}, 4), keepAliveMs: -1 }, new AbortController().signal));
    expect(models.running()[0]!.expiresAt).to.equal(null);
    expect(await models.unload("tiny")).to.equal(true);
    expect(models.running()).to.deep.equal([]);
    expect(await models.unload("tiny")).to.equal(false);
  });

  it("load() loads without generating; show() describes the file", async () => {
    const models = service();
    await models.load("tiny-q8");
    expect(models.running().map((m) => m.model.name)).to.deep.equal(["tiny-q8"]);
    const info = await models.show("tiny-q8");
    expect(info).to.include({ name: "tiny-q8", architecture: "llama", quantization: "Q8_0", contextLength: 2048, hasChatTemplate: true });
    expect(info.notes.join(" ")).to.match(/gibberish/);
  });

  it("parks libuv's pool while a request generates alone, gives it back after, and not with MLXM_POOL_PARKING=false", async () => {
    const parksBefore = poolParking.stats.parks;
    const on = service();
    const answer = await collectChat(on.chat(chatRequest("tiny", {}, 24), new AbortController().signal));
    expect(answer.text.length).to.be.greaterThan(0);
    // This process's pool is libuv's default of 4.
    expect(poolParking.stats.parks).to.be.greaterThan(parksBefore);
    expect(poolParking.parked).to.equal(false);
    const off = service({ MLXM_POOL_PARKING: "false" });
    const parksOn = poolParking.stats.parks;
    try {
      await collectChat(off.chat(chatRequest("tiny", {}, 24), new AbortController().signal));
      expect(poolParking.stats.parks).to.equal(parksOn);
    } finally {
      poolParking.enabled = true;
    }
  });

  it("records GenAI metrics", async () => {
    const text = await metrics.registry.metrics();
    expect(text).to.match(/gen_ai_tokens_total\{model="tiny",type="output"\} \d+/);
    expect(text).to.match(/gen_ai_server_time_to_first_token_seconds_count\{model="tiny"\} [1-9]/);
    expect(text).to.contain("mlxm_loaded_models");
  });
});
