/**
 * The `/v1/responses` HTTP layer with the official openai SDK as the client, over a scripted model service: named
 * SSE framing and numbering, reasoning items, every error shape and status, in-band mid-stream errors and
 * disconnects. The real engine is covered by openai-responses-api.test.ts, routed upstreams by
 * openai-responses-routing.test.ts.
 */
import { expect } from "chai";
import OpenAI, { type APIError } from "openai";
import { FAKE_REASONING, FAKE_REPLY, startFakeApp, type FakeApp } from "../helpers/fake-models.js";

/** Raw SSE `event:` names and parsed `data:` payloads, in order. */
function parseSse(raw: string): { event: string; data: { type: string; sequence_number: number } & Record<string, unknown> }[] {
  return raw
    .split("\n\n")
    .filter((frame) => frame.trim())
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "null") as { type: string; sequence_number: number };
      return { event, data };
    });
}

describe("OpenAI Responses API routes (scripted model service)", () => {
  let app: FakeApp;
  let openai: OpenAI;
  before(async () => {
    app = await startFakeApp();
    openai = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => app.close());

  it("answers with a Response whose output_text the SDK computes, and OpenAI's usage", async () => {
    const r = await openai.responses.create({ model: "m", input: "hi", instructions: "Be brief.", max_output_tokens: 8 });
    expect(r.object).to.equal("response");
    expect(r.id).to.match(/^resp_[0-9a-f]{48}$/);
    expect(r.status).to.equal("completed");
    expect(r.output_text).to.equal(FAKE_REPLY.join(""));
    expect(r.instructions).to.equal("Be brief.");
    expect(r.max_output_tokens).to.equal(8);
    expect(r.usage).to.deep.equal({
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 8,
    });
    expect(app.models.requests.at(-1)).to.deep.include({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] });
    // The SDK adds output_text; on the wire it is not sent, as OpenAI does not send it.
    const raw = (await (await fetch(`${app.baseUrl}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "m", input: "hi" }) })).json()) as object;
    expect(raw).not.to.have.property("output_text");
  });

  it("streams named SSE events numbered from 0, with no [DONE]", async () => {
    const res = await fetch(`${app.baseUrl}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "m", input: "hi", stream: true }) });
    expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
    const raw = await res.text();
    expect(raw).not.to.contain("[DONE]");
    const frames = parseSse(raw);
    expect(frames.every((f) => f.event === f.data.type)).to.equal(true);
    expect(frames.map((f) => f.data.sequence_number)).to.deep.equal([...frames.keys()]);
    expect(frames.map((f) => f.event)).to.deep.equal([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...FAKE_REPLY.map(() => "response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("returns reasoning as a reasoning item before the message, streamed as reasoning_text deltas", async () => {
    const params = { model: "m", input: "think", reasoning: { effort: "high" as const } };
    const r = await openai.responses.create(params);
    expect(r.output.map((o) => o.type)).to.deep.equal(["reasoning", "message"]);
    expect((r.output[0] as OpenAI.Responses.ResponseReasoningItem).content).to.deep.equal([{ type: "reasoning_text", text: FAKE_REASONING.join("") }]);
    const stream = openai.responses.stream(params);
    let reasoning = "";
    stream.on("response.reasoning_text.delta", (e) => (reasoning += e.delta));
    const final = await stream.finalResponse();
    expect(reasoning).to.equal(FAKE_REASONING.join(""));
    expect(final.output_text).to.equal(FAKE_REPLY.join(""));
    expect(final.output.map((o) => o.type)).to.deep.equal(["reasoning", "message"]);
  });

  it("streams a function call whose arguments the SDK's stream helper reassembles", async () => {
    const tools: OpenAI.Responses.FunctionTool[] = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: null }];
    const stream = openai.responses.stream({ model: "m", input: "weather?", tools, tool_choice: "required" });
    let snapshot = "";
    stream.on("response.function_call_arguments.delta", (e) => (snapshot = e.snapshot));
    const final = await stream.finalResponse();
    expect(snapshot).to.equal('{"city":"Paris"}');
    expect(final.output).to.have.length(1);
    expect(final.output[0]).to.deep.include({ type: "function_call", call_id: "call_fake1", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" });
  });

  it("answers an unknown model with NotFoundError, code model_not_found, streamed or not", async () => {
    for (const stream of [false, true]) {
      const err = (await openai.responses.create({ model: "missing", input: "hi", stream }).then(() => undefined, (e: unknown) => e)) as APIError;
      expect(err, `stream: ${stream}`).to.be.instanceOf(OpenAI.NotFoundError);
      expect(err.code).to.equal("model_not_found");
      expect(err.param).to.equal("model");
    }
  });

  it("answers a full queue with RateLimitError and Retry-After", async () => {
    const err = (await openai.responses.create({ model: "busy", input: "hi" }).then(() => undefined, (e: unknown) => e)) as APIError;
    expect(err).to.be.instanceOf(OpenAI.RateLimitError);
    expect(err.headers?.get("retry-after")).to.equal("3");
  });

  it("refuses what it cannot honour with BadRequestError naming the parameter", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ previous_response_id: "resp_1" }, "previous_response_id"],
      [{ conversation: "conv_1" }, "conversation"],
      [{ background: true }, "background"],
      [{ tools: [{ type: "web_search" }] }, "tools[0].type"],
      [{ input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1" }] }] }, "input[0].content[0].file_id"],
      [{ seed: 1 }, "seed"],
    ];
    for (const [body, param] of cases) {
      const err = (await openai.responses.create({ model: "m", input: "hi", ...body } as never).then(() => undefined, (e: unknown) => e)) as APIError;
      expect(err, param).to.be.instanceOf(OpenAI.BadRequestError);
      expect([err.param, err.type], param).to.deep.equal([param, "invalid_request_error"]);
    }
    const stateless = (await openai.responses.create({ model: "m", input: "hi", previous_response_id: "resp_1" }).then(() => undefined, (e: unknown) => e)) as APIError;
    expect(stateless.message).to.contain("mlxm does not store responses");
  });

  it("answers malformed JSON and a request for a stored response in OpenAI's shape", async () => {
    const bad = await fetch(`${app.baseUrl}/v1/responses`, { method: "POST", body: "{nope" });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).to.equal("invalid_request_error");
    const retrieved = (await openai.responses.retrieve("resp_123").then(() => undefined, (e: unknown) => e)) as APIError;
    expect(retrieved).to.be.instanceOf(OpenAI.NotFoundError);
    expect(retrieved.message).to.contain("mlxm does not store responses");
    const unknown = await fetch(`${app.baseUrl}/v1/responses/input_tokens`, { method: "POST", body: "{}" });
    expect(unknown.status).to.equal(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).to.equal("unknown_url");
  });

  it("sends a mid-stream failure as an error event, numbered after the last, that the SDK throws", async () => {
    const res = await fetch(`${app.baseUrl}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "explode", input: "hi", stream: true }) });
    const frames = parseSse(await res.text());
    const last = frames.at(-1)!;
    expect(last.event).to.equal("error");
    expect(last.data).to.deep.equal({ type: "error", code: "server_error", message: "the engine fell over", param: null, sequence_number: frames.length - 1 });
    expect(frames.map((f) => f.data.sequence_number)).to.deep.equal([...frames.keys()]);

    const stream = openai.responses.stream({ model: "explode", input: "hi" });
    let text = "";
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const failure = await stream.finalResponse().then(() => undefined, (e: unknown) => e);
    expect(failure).to.deep.include({ type: "error", message: "the engine fell over" });
    expect(text).to.equal("partial");
  });

  it("stops generating when the client disconnects mid-stream", async () => {
    const before = app.models.aborted;
    const controller = new AbortController();
    const stream = await openai.responses.create({ model: "slow", input: "hi", stream: true }, { signal: controller.signal });
    let n = 0;
    for await (const _ of stream) if (++n === 5) controller.abort();
    for (let i = 0; i < 200 && app.models.aborted === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(app.models.aborted).to.equal(before + 1);
    expect(app.models.active).to.equal(0);
  });
});
