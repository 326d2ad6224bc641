/**
 * The Responses API end to end: the official openai SDK (`responses.create`, `responses.stream`, `responses.parse`),
 * unmodified, against a real daemon on port 0 and the local engine, with generated random-weight models (one plain
 * ChatML, one whose template has a `<think>` section). The models write noise and run to their token limit, so
 * assertions are about shapes, counts, statuses, grammar-enforced JSON and round trips, never what the text says.
 */
import { expect } from "chai";
import path from "node:path";
import OpenAI, { type APIError } from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { REASONING_CHATML_TEMPLATE } from "../../src/daemon/engine/gguf/index.js";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

const MODEL = "tiny-responses";
const REASONER = "tiny-responses-reasoner";
/** An enum keeps a random model's forced arguments short (a free string would run to the token limit). */
const tools: OpenAI.Responses.FunctionTool[] = [
  {
    type: "function",
    name: "get_weather",
    description: "Weather by city",
    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } }, required: ["city"], additionalProperties: false },
    strict: true,
  },
];

/** Poll (bounded) until `check` holds; a missed condition fails the test, no duration is asserted. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await read();
    if (check(value)) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as APIError);

describe("OpenAI Responses API with the openai SDK (local engine)", () => {
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;

  before(async () => {
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, MODEL);
    await addTestModel(store, REASONER, { chatTemplate: REASONING_CHATML_TEMPLATE });
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("creates a response cut at max_output_tokens: incomplete, output_text from the SDK, usage as the requests row says", async () => {
    const { data: r, response } = await openai.responses.create({ model: MODEL, instructions: "Be brief.", input: "hello", max_output_tokens: 8 }).withResponse();
    expect(response.headers.get("x-mlxm-backend")).to.equal("local");
    expect(r).to.deep.include({ object: "response", model: MODEL, status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, error: null });
    expect(r.output).to.have.length(1);
    const message = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect(message).to.deep.include({ type: "message", role: "assistant", status: "incomplete" });
    expect(r.output_text).to.equal((message.content[0] as OpenAI.Responses.ResponseOutputText).text);
    expect(r.usage!.output_tokens).to.equal(8);
    expect(r.usage!.total_tokens).to.equal(r.usage!.input_tokens + 8);

    const row = await eventually(
      () => store.requests.recent(10),
      (rows) => rows.some((x) => x.route === "/v1/responses"),
      "the request's row",
    ).then((rows) => rows.find((x) => x.route === "/v1/responses")!);
    expect(row).to.deep.include({ api: "openai", model: MODEL, backend: "local", status_code: 200, input_tokens: r.usage!.input_tokens, output_tokens: 8 });
    expect(row.cached_tokens ?? 0).to.equal(r.usage!.input_tokens_details.cached_tokens);
  });

  it("streams through responses.stream(): events in order, numbered, and a finalResponse() that adds up", async () => {
    const stream = openai.responses.stream({ model: MODEL, input: "hello", max_output_tokens: 6 });
    const events: ResponseStreamEvent[] = [];
    stream.on("event", (e) => events.push(e));
    let text = "";
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const final = await stream.finalResponse();
    expect(events.map((e) => e.sequence_number)).to.deep.equal([...events.keys()]);
    expect(events.slice(0, 4).map((e) => e.type)).to.deep.equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(events.slice(-5).map((e) => e.type)).to.deep.equal([
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      // Cut at max_output_tokens: the last event says so.
      "response.incomplete",
    ]);
    expect(final.output_text).to.equal(text);
    expect(final.status).to.equal("incomplete");
    expect(final.usage!.output_tokens).to.equal(6);
  });

  it("streams with create({stream: true}) and ends with the whole response and its usage", async () => {
    const stream = await openai.responses.create({ model: MODEL, input: "hello", max_output_tokens: 5, stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    expect(events.map((e) => e.sequence_number)).to.deep.equal([...events.keys()]);
    const last = events.at(-1)!;
    expect(last.type).to.equal("response.incomplete");
    const response = (last as OpenAI.Responses.ResponseIncompleteEvent).response;
    const deltas = events.filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === "response.output_text.delta");
    expect((response.output[0] as OpenAI.Responses.ResponseOutputMessage).content[0]).to.deep.include({ text: deltas.map((e) => e.delta).join("") });
    expect(response.usage!.output_tokens).to.equal(5);
  });

  it("round-trips a function call: function_call item, then its function_call_output in the next input", async () => {
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "weather in Paris?" }];
    const r = await openai.responses.create({ model: MODEL, input, tools, tool_choice: { type: "function", name: "get_weather" }, max_output_tokens: 64 });
    expect(r.status).to.equal("completed");
    const call = r.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call")!;
    expect(call).to.deep.include({ name: "get_weather", status: "completed" });
    expect(call.call_id).to.match(/^call_/);
    expect(JSON.parse(call.arguments)).to.have.property("city").that.is.oneOf(["Paris", "Oslo"]);

    const next = await openai.responses.create({
      model: MODEL,
      tools,
      // The output items go back as they came (the SDK types output and input items apart).
      input: [...input, ...(r.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: call.call_id, output: "sunny, 21C" }],
      max_output_tokens: 4,
    });
    expect(next.usage!.input_tokens).to.be.greaterThan(r.usage!.input_tokens);

    // Streamed, the SDK reassembles the arguments from their deltas.
    const stream = openai.responses.stream({ model: MODEL, input, tools, tool_choice: "required", max_output_tokens: 64 });
    let snapshot = "";
    stream.on("response.function_call_arguments.delta", (e) => (snapshot = e.snapshot));
    const final = await stream.finalResponse();
    const streamed = final.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(streamed.arguments).to.equal(snapshot);
    expect(JSON.parse(snapshot)).to.have.property("city");
  });

  it("answers in a json_schema text format, enforced by grammar, that responses.parse() reads", async () => {
    const schema = { type: "object", properties: { answer: { type: "string", enum: ["yes", "no"] } }, required: ["answer"], additionalProperties: false };
    const r = await openai.responses.parse({ model: MODEL, input: "yes or no?", text: { format: { type: "json_schema", name: "answer", schema, strict: true } }, max_output_tokens: 64 });
    expect(r.status).to.equal("completed");
    expect(r.output_parsed).to.have.property("answer").that.is.oneOf(["yes", "no"]);
    expect(r.text?.format).to.deep.include({ type: "json_schema", name: "answer" });
    const unenforceable = await failure(
      openai.responses.create({ model: MODEL, input: "x", text: { format: { type: "json_schema", name: "a", schema: { type: "object", properties: { a: { not: {} } } } } } }),
    );
    expect([unenforceable?.status, unenforceable?.param]).to.deep.equal([400, "text.format.schema.properties.a.not"]);
  });

  it("gives SDK-typed errors in OpenAI's shape: unknown model, refused parameters, stored state", async () => {
    const missing = await failure(openai.responses.create({ model: "nope", input: "x" }));
    expect(missing).to.be.instanceOf(OpenAI.NotFoundError);
    expect(missing!.error).to.deep.equal({ message: 'model "nope" not found', type: "invalid_request_error", param: "model", code: "model_not_found" });
    const previous = await failure(openai.responses.create({ model: MODEL, input: "x", previous_response_id: "resp_0" }));
    expect(previous).to.be.instanceOf(OpenAI.BadRequestError);
    expect(previous!.param).to.equal("previous_response_id");
    expect(previous!.message).to.contain("send the whole conversation in `input`");
    const logprobs = await failure(openai.responses.create({ model: MODEL, input: "x", top_logprobs: 2 }));
    expect([logprobs?.status, logprobs?.param]).to.deep.equal([400, "top_logprobs"]);
    // Reasoning asked of a model that has no reasoning section: Codex sends an effort on every request, so the
    // model answers without reasoning rather than refusing.
    const noReasoning = await openai.responses.create({ model: MODEL, input: "x", reasoning: { effort: "high" }, max_output_tokens: 4 });
    expect(noReasoning.output.map((o) => o.type)).to.deep.equal(["message"]);
    // A conversation longer than the context is named where this API holds it: `input`, not Chat Completions' `messages`.
    const tooLong = await failure(openai.responses.create({ model: MODEL, input: "word ".repeat(3000), max_output_tokens: 4 }));
    expect([tooLong?.status, tooLong?.param, tooLong?.code]).to.deep.equal([400, "input", "context_length_exceeded"]);
  });

  describe("a model whose template has a reasoning section", () => {
    it("returns a reasoning item, streamed as reasoning_text deltas, with reasoning_tokens counted", async () => {
      const params = { model: REASONER, input: "think", reasoning: { effort: "high" as const }, max_output_tokens: 12 };
      const r = await openai.responses.create(params);
      const item = r.output[0] as OpenAI.Responses.ResponseReasoningItem;
      expect(item.type).to.equal("reasoning");
      expect(item.summary).to.deep.equal([]);
      expect(item.content![0]!.text).to.not.equal("");
      expect(r.usage!.output_tokens_details.reasoning_tokens).to.be.within(1, r.usage!.output_tokens);

      const stream = openai.responses.stream(params);
      let reasoning = "";
      stream.on("response.reasoning_text.delta", (e) => (reasoning += e.delta));
      const final = await stream.finalResponse();
      expect((final.output[0] as OpenAI.Responses.ResponseReasoningItem).content).to.deep.equal([{ type: "reasoning_text", text: reasoning }]);
      expect(final.usage!.output_tokens).to.equal(12);
    });

    it("turns reasoning off with effort none", async () => {
      const r = await openai.responses.create({ model: REASONER, input: "think", reasoning: { effort: "none" }, max_output_tokens: 6 });
      expect(r.output.map((o) => o.type)).to.deep.equal(["message"]);
      expect(r.usage!.output_tokens_details.reasoning_tokens).to.equal(0);
    });

    it("takes Chat Completions' reasoning_effort the same way: a level on, none off, ignored by a model without reasoning", async () => {
      const chat = (model: string, reasoning_effort: "high" | "none") =>
        openai.chat.completions.create({ model, messages: [{ role: "user", content: "think" }], reasoning_effort, max_tokens: 8 });
      const on = (await chat(REASONER, "high")).choices[0]!.message as { reasoning_content?: string };
      expect(on.reasoning_content).to.be.a("string").and.not.equal("");
      const off = (await chat(REASONER, "none")).choices[0]!.message as { reasoning_content?: string };
      expect(off.reasoning_content).to.equal(undefined);
      const plain = (await chat(MODEL, "high")).choices[0]!.message as { reasoning_content?: string; content: string | null };
      expect([plain.reasoning_content, typeof plain.content]).to.deep.equal([undefined, "string"]);
    });
  });
});
