/**
 * The `/v1` HTTP layer with the official openai SDK as the client, over a scripted model service: wire formats,
 * every error shape and status, in-band mid-stream errors and disconnects. The real engine is covered by
 * openai-api.test.ts.
 */
import { expect } from "chai";
import OpenAI, { type APIError } from "openai";
import { FAKE_REPLY, startFakeApp, type FakeApp } from "../helpers/fake-models.js";

describe("OpenAI API routes (scripted model service)", () => {
  let app: FakeApp;
  let openai: OpenAI;
  before(async () => {
    app = await startFakeApp();
    openai = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
    // The list comes from the model service, not the store: a name no local file serves appears too.
    app.models.listed = [
      { name: "hf.co/org/repo:Q4_K_M", sizeBytes: 1, digest: "sha256:1", createdAt: "2024-01-01T00:00:00.000Z", modifiedAt: "2024-01-01T00:00:00.000Z", format: "gguf" },
    ];
  });
  after(async () => app.close());

  it("answers a chat completion with usage", async () => {
    const c = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 8 });
    expect(c.object).to.equal("chat.completion");
    expect(c.id).to.match(/^chatcmpl-/);
    expect(c.choices[0]!.message.content).to.equal(FAKE_REPLY.join(""));
    expect(c.choices[0]!.finish_reason).to.equal("stop");
    expect(c.usage).to.deep.equal({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it("streams chunks with a usage chunk and [DONE]", async () => {
    const stream = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).to.equal(FAKE_REPLY.join(""));
    expect(finish).to.equal("stop");
    expect(usage).to.deep.equal({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    const raw = await (await fetch(`${app.baseUrl}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }], stream: true }) })).text();
    expect(raw.endsWith("data: [DONE]\n\n")).to.equal(true);
  });

  it("streams tool calls that the SDK's stream helper reassembles", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const runner = openai.chat.completions.stream({ model: "m", messages: [{ role: "user", content: "weather?" }], tools, tool_choice: "required" });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).to.equal("tool_calls");
    expect(final.choices[0]!.message.tool_calls).to.deep.equal([{ id: "call_fake1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
  });

  it("answers an unknown model with NotFoundError, code model_not_found", async () => {
    try {
      await openai.chat.completions.create({ model: "missing", messages: [{ role: "user", content: "hi" }], stream: true });
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.NotFoundError);
      expect((err as APIError).code).to.equal("model_not_found");
      expect((err as APIError).type).to.equal("invalid_request_error");
    }
  });

  it("answers a full queue with RateLimitError and Retry-After", async () => {
    const res = await fetch(`${app.baseUrl}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ model: "busy", messages: [{ role: "user", content: "x" }] }) });
    expect(res.status).to.equal(429);
    expect(res.headers.get("retry-after")).to.equal("3");
    expect(((await res.json()) as { error: { type: string; code: string } }).error).to.deep.include({ type: "requests", code: "rate_limit_exceeded" });
    try {
      await openai.chat.completions.create({ model: "busy", messages: [{ role: "user", content: "hi" }] });
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.RateLimitError);
    }
  });

  it("answers an invalid model file with 422 in OpenAI's shape", async () => {
    try {
      await openai.chat.completions.create({ model: "broken", messages: [{ role: "user", content: "hi" }] });
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.UnprocessableEntityError);
      expect((err as APIError).code).to.equal("invalid_model");
    }
  });

  it("names the parameter of a rejected request", async () => {
    for (const [body, param] of [
      [{ n: 2 }, "n"],
      [{ logprobs: true }, "logprobs"],
      [{ temperature: 5 }, "temperature"],
      [{ bogus: 1 }, "bogus"],
    ] as const) {
      try {
        await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }], ...(body as object) });
        expect.fail("should throw");
      } catch (err) {
        expect(err, param).to.be.instanceOf(OpenAI.BadRequestError);
        expect((err as APIError).param).to.equal(param);
        expect((err as APIError).type).to.equal("invalid_request_error");
      }
    }
  });

  it("answers malformed JSON, a non-object body and unknown /v1 routes in OpenAI's shape", async () => {
    const bad = await fetch(`${app.baseUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).to.equal("invalid_request_error");
    const arr = await fetch(`${app.baseUrl}/v1/chat/completions`, { method: "POST", body: "[1]" });
    expect(arr.status).to.equal(400);
    const unknown = await fetch(`${app.baseUrl}/v1/nothing`);
    expect(unknown.status).to.equal(404);
    expect(await unknown.json()).to.deep.equal({ error: { message: "Unknown request URL: GET /v1/nothing", type: "invalid_request_error", param: null, code: "unknown_url" } });
  });

  it("sends a mid-stream failure as an SSE error event the SDK throws", async () => {
    const stream = await openai.chat.completions.create({ model: "explode", messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.APIError);
      expect((err as APIError).message).to.contain("the engine fell over");
    }
    expect(text).to.equal("partial");
  });

  it("aborts the generation when the client disconnects mid-stream", async () => {
    const before = app.models.aborted;
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: "slow", messages: [{ role: "user", content: "hi" }], stream: true }, { signal: controller.signal });
    let n = 0;
    for await (const _ of stream) if (++n === 3) controller.abort();
    for (let i = 0; i < 200 && app.models.aborted === before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(app.models.aborted).to.equal(before + 1);
    expect(app.models.active).to.equal(0);
  });

  it("serves completions (plain and streamed) and embeddings in both encodings", async () => {
    const c = await openai.completions.create({ model: "m", prompt: "Once", max_tokens: 4, echo: true });
    expect(c.choices[0]!.text).to.equal(`Once${FAKE_REPLY.join("")}`);
    const stream = await openai.completions.create({ model: "m", prompt: "Once", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).to.equal(FAKE_REPLY.join(""));
    const f = await openai.embeddings.create({ model: "m", input: ["ab", "abc"], encoding_format: "float" });
    expect(f.data.map((d) => d.embedding)).to.deep.equal([[2, 0, 0.5, -0.25], [3, 1, 0.5, -0.25]]);
    // The SDK asks for base64 by default and decodes it.
    const b = await openai.embeddings.create({ model: "m", input: "ab" });
    expect(b.data[0]!.embedding).to.deep.equal([2, 0, 0.5, -0.25]);
    expect(b.usage).to.deep.equal({ prompt_tokens: 2, total_tokens: 2 });
  });

  it("lists models and retrieves one whose name has slashes", async () => {
    const list = await openai.models.list();
    expect(list.data.map((m) => m.id)).to.deep.equal(["hf.co/org/repo:Q4_K_M"]);
    const m = await openai.models.retrieve("hf.co/org/repo:Q4_K_M");
    expect(m).to.deep.include({ id: "hf.co/org/repo:Q4_K_M", object: "model", created: 1704067200, owned_by: "mlxm" });
    try {
      await openai.models.retrieve("nope");
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.NotFoundError);
    }
  });
});
