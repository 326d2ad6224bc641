/**
 * The `/v1/messages` HTTP layer with the official @anthropic-ai/sdk as the client, over a scripted model service:
 * the exact event sequence, named SSE framing, thinking blocks, stop sequences, every error shape and status,
 * in-band mid-stream errors and disconnects. The real engine is covered by anthropic-api.test.ts.
 */
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import { FAKE_REASONING, FAKE_REPLY, startFakeApp, type FakeApp } from "../helpers/fake-models.js";

const user = (content: string) => [{ role: "user" as const, content }];

/** Poll (bounded) until `check` holds. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

/** Raw SSE `event:` names and parsed `data:` payloads, in order. */
function parseSse(raw: string): { event: string; data: { type: string } & Record<string, unknown> }[] {
  return raw
    .split("\n\n")
    .filter((frame) => frame.trim())
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "null") as { type: string };
      return { event, data };
    });
}

describe("Anthropic API routes (scripted model service)", () => {
  let app: FakeApp;
  let anthropic: Anthropic;
  before(async () => {
    app = await startFakeApp();
    anthropic = new Anthropic({ baseURL: app.baseUrl, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => app.close());

  it("answers a message with usage and end_turn", async () => {
    const m = await anthropic.messages.create({ model: "m", max_tokens: 8, messages: user("hi") });
    expect(m.id).to.match(/^msg_/);
    expect(m.type).to.equal("message");
    expect(m.role).to.equal("assistant");
    expect(m.content).to.deep.equal([{ type: "text", text: FAKE_REPLY.join("") }]);
    expect(m.stop_reason).to.equal("end_turn");
    expect(m.stop_sequence).to.equal(null);
    expect(m.usage).to.deep.equal({ input_tokens: 5, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it("streams Anthropic's exact event sequence as named SSE events", async () => {
    const res = await fetch(`${app.baseUrl}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k", "anthropic-version": "2023-06-01", "anthropic-beta": "x" },
      body: JSON.stringify({ model: "m", max_tokens: 8, messages: user("hi"), stream: true }),
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
    const frames = parseSse(await res.text());
    for (const f of frames) expect(f.event).to.equal(f.data.type);
    expect(frames.map((f) => f.event)).to.deep.equal([
      "message_start",
      "content_block_start",
      "ping",
      ...FAKE_REPLY.map(() => "content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(frames[0]!.data).to.deep.include({
      message: {
        id: (frames[0]!.data.message as { id: string }).id,
        type: "message",
        role: "assistant",
        model: "m",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
    expect(frames[1]!.data).to.deep.equal({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    expect(frames[3]!.data).to.deep.equal({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: FAKE_REPLY[0] } });
    expect(frames.at(-2)!.data).to.deep.equal({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { input_tokens: 5, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it("reports the stop sequence that matched, streamed and not", async () => {
    const params = { model: "stopper", max_tokens: 8, messages: user("hi"), stop_sequences: ["###", "END"] };
    const m = await anthropic.messages.create(params);
    expect(m.stop_reason).to.equal("stop_sequence");
    expect(m.stop_sequence).to.equal("###");
    const final = await anthropic.messages.stream(params).finalMessage();
    expect(final.stop_reason).to.equal("stop_sequence");
    expect(final.stop_sequence).to.equal("###");
  });

  it("returns reasoning as thinking blocks before the text, streamed as thinking_delta", async () => {
    const params = { model: "m", max_tokens: 64, messages: user("hi"), thinking: { type: "enabled" as const, budget_tokens: 16 } };
    const m = await anthropic.messages.create(params);
    expect(m.content).to.deep.equal([
      { type: "thinking", thinking: FAKE_REASONING.join(""), signature: "" },
      { type: "text", text: FAKE_REPLY.join("") },
    ]);
    const stream = anthropic.messages.stream(params);
    const thinking: string[] = [];
    stream.on("thinking", (delta) => thinking.push(delta));
    const final = await stream.finalMessage();
    expect(thinking).to.deep.equal(FAKE_REASONING);
    expect(final.content).to.deep.equal(m.content);
    const last = app.models.requests.at(-1) as { reasoning?: unknown };
    expect(last.reasoning).to.deep.equal({ enabled: true, budgetTokens: 16 });
  });

  it("streams a tool_use block whose input the SDK's stream helper reassembles", async () => {
    const tools = [{ name: "get_weather", input_schema: { type: "object" as const, properties: { city: { type: "string" } } } }];
    const stream = anthropic.messages.stream({ model: "m", max_tokens: 32, messages: user("weather?"), tools, tool_choice: { type: "any" } });
    const final = await stream.finalMessage();
    expect(final.stop_reason).to.equal("tool_use");
    expect(final.content).to.deep.equal([{ type: "tool_use", id: "call_fake1", name: "get_weather", input: { city: "Paris" } }]);
  });

  it("counts tokens", async () => {
    const count = await anthropic.messages.countTokens({ model: "m", messages: user("hi") });
    expect(count).to.deep.equal({ input_tokens: 5 });
  });

  it("answers an unknown model with NotFoundError (not_found_error)", async () => {
    const err = await anthropic.messages.create({ model: "missing", max_tokens: 8, messages: user("hi") }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Anthropic.NotFoundError);
    expect((err as InstanceType<typeof Anthropic.NotFoundError>).error).to.deep.equal({
      type: "error",
      error: { type: "not_found_error", message: 'model "missing" not found' },
    });
  });

  it("answers a full queue with RateLimitError (429, retry-after), streamed or not", async () => {
    for (const stream of [false, true]) {
      const err = await anthropic.messages.create({ model: "busy", max_tokens: 8, messages: user("hi"), stream }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Anthropic.RateLimitError);
      const e = err as InstanceType<typeof Anthropic.RateLimitError>;
      expect(e.status).to.equal(429);
      expect(e.headers?.get("retry-after")).to.equal("3");
      expect((e.error as { error: { type: string } }).error.type).to.equal("rate_limit_error");
    }
  });

  it("answers bad requests with BadRequestError naming what was refused", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ model: "m", messages: user("hi") }, /max_tokens/],
      [{ model: "m", max_tokens: 8, messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "file_1" } }] }] }, /Files API/],
      [{ model: "m", max_tokens: 8, messages: user("hi"), tools: [{ type: "web_search_20250305", name: "web_search" }] }, /server tools/],
      [{ model: "m", max_tokens: 8, messages: user("hi"), unknown_field: 1 }, /unknown_field/],
    ];
    for (const [body, message] of cases) {
      const err = await anthropic.messages.create(body as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(body)).to.be.instanceOf(Anthropic.BadRequestError);
      const e = (err as InstanceType<typeof Anthropic.BadRequestError>).error as { type: string; error: { type: string; message: string } };
      expect(e.type).to.equal("error");
      expect(e.error.type).to.equal("invalid_request_error");
      expect(e.error.message).to.match(message);
    }
  });

  it("answers bad JSON and unknown routes in Anthropic's shape", async () => {
    const bad = await fetch(`${app.baseUrl}/v1/messages`, { method: "POST", body: "{nope" });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).to.equal("invalid_request_error");
    const missing = await fetch(`${app.baseUrl}/v1/messages/batches`, { method: "POST", body: "{}" });
    expect(missing.status).to.equal(404);
    expect(await missing.json()).to.deep.equal({ type: "error", error: { type: "not_found_error", message: "Not found: POST /v1/messages/batches" } });
  });

  it("turns a failure after streaming began into an error event the SDK throws", async () => {
    const res = await fetch(`${app.baseUrl}/v1/messages`, {
      method: "POST",
      body: JSON.stringify({ model: "explode", max_tokens: 8, messages: user("hi"), stream: true }),
    });
    const frames = parseSse(await res.text());
    expect(frames.at(-1)).to.deep.equal({ event: "error", data: { type: "error", error: { type: "api_error", message: "the engine fell over" } } });
    const err = await anthropic.messages.stream({ model: "explode", max_tokens: 8, messages: user("hi") }).finalMessage().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Anthropic.APIError);
  });

  it("stops generating when the client disconnects mid-stream", async () => {
    const before = app.models.aborted;
    const controller = new AbortController();
    const stream = anthropic.messages.stream({ model: "slow", max_tokens: 8, messages: user("hi") }, { signal: controller.signal });
    let deltas = 0;
    stream.on("text", () => {
      if (++deltas === 3) controller.abort();
    });
    await stream.done().catch(() => {});
    await eventually(() => app.models.aborted > before, "the generation was aborted");
  });
});
