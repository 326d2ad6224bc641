/**
 * The Responses API output translators on their own: a core result → the Response JSON, core events → the exact
 * stream event sequence (checked also by folding it with the openai SDK's own accumulator), and an error mid-stream →
 * the `error` event. Exact deep-equal throughout.
 */
import { expect } from "chai";
import { accumulateResponse } from "openai/lib/responses/ResponseAccumulator";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { toResponse, type ResponseMeta } from "../../src/daemon/compat/openai-response-output.js";
import { toResponseErrorEvent, toResponseStreamEvents, type ResponseEvent } from "../../src/daemon/compat/openai-response-stream.js";
import type { ChatEvent, ChatResult } from "../../src/daemon/core/chat.js";
import { HttpError } from "../../src/daemon/errors.js";

const echo: ResponseMeta["echo"] = {
  instructions: null,
  max_output_tokens: null,
  metadata: {},
  parallel_tool_calls: true,
  reasoning: { effort: null, summary: null },
  temperature: null,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: null,
  truncation: "disabled",
};
const meta: ResponseMeta = { id: "resp_abc", createdAt: 1700000000, model: "m", echo };

/** The response fields that do not depend on the generation. */
const around = (status: string) => ({
  id: "resp_abc",
  object: "response",
  created_at: 1700000000,
  status,
  background: false,
  error: null,
  incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
  model: "m",
  previous_response_id: null,
  store: false,
  ...echo,
});

const usage = (input: number, output: number, cached = 0, reasoning = 0) => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: cached, cache_write_tokens: 0 },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: input + output,
});

const text = (t: string) => ({ type: "output_text", text: t, annotations: [], logprobs: [] });

async function collect(events: ChatEvent[]): Promise<ResponseEvent[]> {
  const out: ResponseEvent[] = [];
  async function* source() {
    yield* events;
  }
  for await (const e of toResponseStreamEvents(source(), meta)) out.push(e);
  return out;
}

/**
 * Fold the events before the last as the SDK's `responses.stream()` does (the last replaces the snapshot with the
 * response it carries): what the deltas built must be the final response's output.
 */
function accumulated(events: ResponseEvent[]) {
  let snapshot;
  for (const e of events.slice(0, -1)) snapshot = accumulateResponse(structuredClone(e) as unknown as ResponseStreamEvent, snapshot);
  return { output: snapshot!.output, output_text: snapshot!.output_text };
}

describe("compat: OpenAI Responses output", () => {
  describe("toResponse", () => {
    it("puts reasoning, the message and function calls in order, with OpenAI's usage", () => {
      const result: ChatResult = {
        text: "Checking.",
        reasoning: "Think.",
        toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
        finishReason: "tool_calls",
        usage: { inputTokens: 20, outputTokens: 9, cachedInputTokens: 12, reasoningTokens: 3 },
      };
      expect(toResponse(result, meta)).to.deep.equal({
        ...around("completed"),
        output: [
          { id: "rs_abc_0", type: "reasoning", status: "completed", summary: [], content: [{ type: "reasoning_text", text: "Think." }] },
          { id: "msg_abc_1", type: "message", status: "completed", role: "assistant", content: [text("Checking.")] },
          { id: "fc_abc_2", type: "function_call", status: "completed", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        ],
        usage: usage(20, 9, 12, 3),
      });
    });

    it("is incomplete when cut by max_output_tokens, and always has a message when nothing else came", () => {
      const cut = toResponse({ text: "Hel", toolCalls: [], finishReason: "length", usage: { inputTokens: 4, outputTokens: 2 } }, meta);
      expect(cut).to.deep.equal({
        ...around("incomplete"),
        output: [{ id: "msg_abc_0", type: "message", status: "incomplete", role: "assistant", content: [text("Hel")] }],
        usage: usage(4, 2),
      });
      const calls = toResponse({ text: "", toolCalls: [{ id: "c", name: "f", arguments: "{}" }], finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 1 } }, meta);
      expect(calls.output.map((o) => o.type)).to.deep.equal(["function_call"]);
      const nothing = toResponse({ text: "", toolCalls: [], finishReason: "stop", usage: { inputTokens: 1, outputTokens: 0 } }, meta);
      expect(nothing.output).to.deep.equal([{ id: "msg_abc_0", type: "message", status: "completed", role: "assistant", content: [text("")] }]);
    });
  });

  describe("toResponseStreamEvents", () => {
    it("emits the exact sequence for reasoning, text and a streamed tool call, numbered from 0", async () => {
      const events = await collect([
        { type: "start", inputTokens: 7 },
        { type: "reasoning", text: "Hm" },
        { type: "text", text: "Hel" },
        { type: "text", text: "" },
        { type: "text", text: "lo" },
        { type: "tool_call_start", index: 0, id: "call_1", name: "f" },
        { type: "tool_call_delta", index: 0, argumentsDelta: '{"a":' },
        { type: "tool_call_delta", index: 0, argumentsDelta: "1}" },
        { type: "done", finishReason: "tool_calls", usage: { inputTokens: 7, outputTokens: 5 } },
      ]);
      const rs = { item_id: "rs_abc_0", output_index: 0, content_index: 0 };
      const msg = { item_id: "msg_abc_1", output_index: 1, content_index: 0 };
      const fc = { item_id: "fc_abc_2", output_index: 2 };
      const reasoning = { id: "rs_abc_0", type: "reasoning", status: "completed", summary: [], content: [{ type: "reasoning_text", text: "Hm" }] };
      const message = { id: "msg_abc_1", type: "message", status: "completed", role: "assistant", content: [text("Hello")] };
      const call = { id: "fc_abc_2", type: "function_call", status: "completed", call_id: "call_1", name: "f", arguments: '{"a":1}' };
      const expected = [
        { type: "response.created", response: { ...around("in_progress"), output: [] } },
        { type: "response.in_progress", response: { ...around("in_progress"), output: [] } },
        { type: "response.output_item.added", output_index: 0, item: { id: "rs_abc_0", type: "reasoning", status: "in_progress", summary: [], content: [] } },
        { type: "response.content_part.added", ...rs, part: { type: "reasoning_text", text: "" } },
        { type: "response.reasoning_text.delta", ...rs, delta: "Hm" },
        { type: "response.reasoning_text.done", ...rs, text: "Hm" },
        { type: "response.content_part.done", ...rs, part: { type: "reasoning_text", text: "Hm" } },
        { type: "response.output_item.done", output_index: 0, item: reasoning },
        { type: "response.output_item.added", output_index: 1, item: { id: "msg_abc_1", type: "message", status: "in_progress", role: "assistant", content: [] } },
        { type: "response.content_part.added", ...msg, part: text("") },
        { type: "response.output_text.delta", ...msg, delta: "Hel", logprobs: [] },
        { type: "response.output_text.delta", ...msg, delta: "lo", logprobs: [] },
        { type: "response.output_text.done", ...msg, text: "Hello", logprobs: [] },
        { type: "response.content_part.done", ...msg, part: text("Hello") },
        { type: "response.output_item.done", output_index: 1, item: message },
        { type: "response.output_item.added", output_index: 2, item: { ...call, status: "in_progress", arguments: "" } },
        { type: "response.function_call_arguments.delta", ...fc, delta: '{"a":' },
        { type: "response.function_call_arguments.delta", ...fc, delta: "1}" },
        { type: "response.function_call_arguments.done", ...fc, name: "f", arguments: '{"a":1}' },
        { type: "response.output_item.done", output_index: 2, item: call },
        { type: "response.completed", response: { ...around("completed"), output: [reasoning, message, call], usage: usage(7, 5) } },
      ].map((e, i) => ({ ...e, sequence_number: i }));
      expect(events).to.deep.equal(expected);
      const final = events.at(-1) as Extract<ResponseEvent, { type: "response.completed" }>;
      expect(accumulated(events)).to.deep.equal({ output: final.response.output, output_text: "Hello" });
    });

    it("keeps several calls open so their arguments may interleave, and ends incomplete at the token limit", async () => {
      const events = await collect([
        { type: "tool_call_start", index: 0, id: "c0", name: "f" },
        { type: "tool_call_start", index: 1, id: "c1", name: "g" },
        { type: "tool_call_delta", index: 0, argumentsDelta: "{}" },
        { type: "tool_call_delta", index: 1, argumentsDelta: '{"x"' },
        { type: "done", finishReason: "length", usage: { inputTokens: 3, outputTokens: 4 } },
      ]);
      expect(events.map((e) => e.type)).to.deep.equal([
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.incomplete",
      ]);
      const final = events.at(-1) as Extract<ResponseEvent, { type: "response.incomplete" }>;
      expect(final.response.status).to.equal("incomplete");
      expect(final.response.incomplete_details).to.deep.equal({ reason: "max_output_tokens" });
      expect(final.response.output).to.deep.equal([
        { id: "fc_abc_0", type: "function_call", status: "completed", call_id: "c0", name: "f", arguments: "{}" },
        { id: "fc_abc_1", type: "function_call", status: "incomplete", call_id: "c1", name: "g", arguments: '{"x"' },
      ]);
      expect(accumulated(events)).to.deep.equal({ output: final.response.output, output_text: "" });
    });

    it("sends an empty message when nothing was generated, as the JSON answer has", async () => {
      const events = await collect([{ type: "done", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 0 } }]);
      const final = events.at(-1) as Extract<ResponseEvent, { type: "response.completed" }>;
      expect(final.response.output).to.deep.equal([{ id: "msg_abc_0", type: "message", status: "completed", role: "assistant", content: [text("")] }]);
      expect(events.map((e) => e.sequence_number)).to.deep.equal([...events.keys()]);
    });
  });

  it("turns a failure mid-stream into an error event in OpenAI's vocabulary", () => {
    expect(toResponseErrorEvent(new HttpError("timeout", "no token for 30 s"), 7)).to.deep.equal({
      type: "error",
      code: "timeout",
      message: "no token for 30 s",
      param: null,
      sequence_number: 7,
    });
    expect(toResponseErrorEvent(new HttpError("internal", "the generation failed"), 3)).to.deep.include({ code: "server_error", sequence_number: 3 });
  });
});
