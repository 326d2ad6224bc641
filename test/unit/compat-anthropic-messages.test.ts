/**
 * The Anthropic Messages translators on their own: request → core request, result → Message, events → the exact
 * stream event sequence, and errors → Anthropic's shape and status. Exact deep-equal throughout.
 */
import { expect } from "chai";
import { toAnthropicError, toAnthropicStatus } from "../../src/daemon/compat/anthropic-errors.js";
import { fromCountTokensRequest, fromMessagesRequest } from "../../src/daemon/compat/anthropic-messages.js";
import { toMessage, toMessageStreamEvents, type MessageStreamEvent } from "../../src/daemon/compat/anthropic-message-response.js";
import type { ChatEvent } from "../../src/daemon/core/chat.js";
import { contextLengthExceeded, HttpError } from "../../src/daemon/errors.js";
import { PDF, PDF_PART, PNG, PNG_PART, URL_IMAGE_PART } from "../helpers/images.js";

const base = { model: "m", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };

function refused(body: unknown): HttpError {
  try {
    fromMessagesRequest(body);
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    return err as HttpError;
  }
  throw new Error("expected a 400");
}

async function collect(events: ChatEvent[]): Promise<MessageStreamEvent[]> {
  const out: MessageStreamEvent[] = [];
  async function* source() {
    yield* events;
  }
  for await (const e of toMessageStreamEvents(source(), { id: "msg_1", model: "m" })) out.push(e);
  return out;
}

describe("compat: Anthropic Messages", () => {
  describe("fromMessagesRequest", () => {
    it("translates system, text, tool_use and tool_result blocks, sampling and tools", () => {
      const { request, stream } = fromMessagesRequest({
        model: "m",
        max_tokens: 64,
        system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }, { type: "text", text: "Use tools." }],
        messages: [
          { role: "user", content: [{ type: "text", text: "Weather" }, { type: "text", text: "in Paris?" }] },
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "hmm", signature: "sig" },
              { type: "text", text: "Checking." },
              { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "sunny" }] },
              { type: "text", text: "And tomorrow?" },
            ],
          },
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Paris", day: 1 } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_2", content: "timeout", is_error: true }] },
        ],
        stop_sequences: ["END", ""],
        temperature: 0.5,
        top_p: 0.9,
        top_k: 20,
        metadata: { user_id: "u1" },
        tools: [{ name: "get_weather", description: "Weather by city", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
        tool_choice: { type: "auto", disable_parallel_tool_use: true },
        stream: true,
      });
      expect(stream).to.equal(true);
      expect(request).to.deep.equal({
        model: "m",
        messages: [
          { role: "system", content: "Be brief.\nUse tools." },
          { role: "user", content: "Weather\nin Paris?" },
          { role: "assistant", content: "Checking.", toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
          { role: "tool", content: "sunny", toolCallId: "toolu_1", name: "get_weather" },
          { role: "user", content: "And tomorrow?" },
          { role: "assistant", content: "", toolCalls: [{ id: "toolu_2", name: "get_weather", arguments: '{"city":"Paris","day":1}' }] },
          { role: "tool", content: "Error: timeout", toolCallId: "toolu_2", name: "get_weather" },
        ],
        sampling: { temperature: 0.5, topP: 0.9, topK: 20, maxTokens: 64, stop: ["END"] },
        tools: [{ name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } } }, parametersPath: "tools[0].input_schema" }],
        toolChoice: { type: "auto" },
        parallelToolCalls: false,
      });
    });

    it("lets a tool_result answer a tool_use of any message of the assistant turn before it (consecutive ones are one turn)", () => {
      const messages = [
        { role: "user", content: "go" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "t", input: {} }] },
        { role: "assistant", content: "and" },
        { role: "user", content: "wait" },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }] },
      ];
      expect(fromMessagesRequest({ ...base, messages }).request.messages.at(-1)).to.deep.equal({ role: "tool", content: "ok", toolCallId: "toolu_1", name: "t" });
    });

    it("leaves a trailing assistant tool_use (a prefill) unanswered", () => {
      const messages = [{ role: "user", content: "go" }, { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "t", input: {} }] }];
      expect(fromMessagesRequest({ ...base, messages }).request.messages.at(-1)).to.deep.equal({ role: "assistant", content: "", toolCalls: [{ id: "toolu_1", name: "t", arguments: "{}" }] });
    });

    it("maps tool_choice any/tool/none and thinking", () => {
      const tools = [{ name: "t", input_schema: { type: "object" } }];
      expect(fromMessagesRequest({ ...base, tools, tool_choice: { type: "any" } }).request.toolChoice).to.deep.equal({ type: "required" });
      expect(fromMessagesRequest({ ...base, tools, tool_choice: { type: "tool", name: "t" } }).request.toolChoice).to.deep.equal({ type: "tool", name: "t" });
      expect(fromMessagesRequest({ ...base, tools, tool_choice: { type: "none" } }).request.toolChoice).to.deep.equal({ type: "none" });
      expect(fromMessagesRequest({ ...base, thinking: { type: "enabled", budget_tokens: 8 } }).request.reasoning).to.deep.equal({ enabled: true, budgetTokens: 8 });
      expect(fromMessagesRequest({ ...base, thinking: { type: "disabled" } }).request.reasoning).to.deep.equal({ enabled: false });
      expect(fromMessagesRequest({ ...base, thinking: { type: "between_tools" } }).request.reasoning).to.deep.equal({ enabled: false });
      expect(fromMessagesRequest({ ...base, thinking: { type: "adaptive" } }).request.reasoning).to.deep.equal({ enabled: true });
      expect(fromMessagesRequest({ ...base, output_config: { format: { type: "json_schema", schema: { type: "object" } } } }).request.responseFormat).to.deep.equal({
        type: "json_schema",
        schema: { type: "object" },
      });
      expect(fromMessagesRequest({ ...base, output_format: { type: "json_schema", schema: { type: "object" } } }).request.responseFormat).to.deep.equal({
        type: "json_schema",
        schema: { type: "object" },
      });
    });

    it("counts the same request a create would make, max_tokens optional", () => {
      const { max_tokens: _, ...rest } = base;
      expect(fromCountTokensRequest(rest)).to.deep.equal({ model: "m", messages: [{ role: "user", content: "hi" }], sampling: {} });
      const { request } = fromMessagesRequest(base);
      expect(fromCountTokensRequest(base)).to.deep.equal(request);
    });

    it("takes images (base64, url) and PDFs in order in user turns and tool results", () => {
      const png = { type: "base64", media_type: "image/png", data: PNG };
      const { request } = fromMessagesRequest({
        ...base,
        messages: [
          { role: "user", content: [{ type: "text", text: "compare" }, { type: "image", source: png }, { type: "image", source: { type: "url", url: "https://x/a.jpg" } }, { type: "document", title: "a.pdf", source: { type: "base64", media_type: "application/pdf", data: PDF } }] },
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "shot", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", is_error: true, content: [{ type: "image", source: png }] }] },
        ],
      });
      const image = PNG_PART;
      expect(request.messages).to.deep.equal([
        {
          role: "user",
          content: "compare",
          parts: [
            { type: "text", text: "compare" },
            image,
            URL_IMAGE_PART,
            PDF_PART,
          ],
        },
        { role: "assistant", content: "", toolCalls: [{ id: "toolu_1", name: "shot", arguments: "{}" }] },
        { role: "tool", content: "Error: ", parts: [{ type: "text", text: "Error: " }, image], toolCallId: "toolu_1", name: "shot" },
      ]);
    });

    it("refuses what it cannot honour, naming it", () => {
      const cases: [unknown, string | undefined, RegExp][] = [
        [{ model: "m", messages: base.messages }, "max_tokens", /max_tokens/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "image", source: {} }] }] }, "messages[0].content[0].source.type", /source.type/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }] }, "messages[0].content[0].source.type", /Files API/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "ftp://x" } }] }] }, "messages[0].content[0].source.url", /http\(s\)/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "document", source: { type: "url", url: "https://x/a.pdf" } }] }] }, "messages[0].content[0].source", /PDF's bytes/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "text", text: "x", citations: [{ type: "char_location" }] }] }] }, "messages[0].content[0].citations", /citations/],
        [{ ...base, messages: [{ role: "assistant", content: [{ type: "server_tool_use", id: "s", name: "web_search", input: {} }] }] }, "messages[0].content[0].type", /server tools/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "web_search_tool_result", tool_use_id: "s", content: [] }] }] }, "messages[0].content[0].type", /server tool results/],
        [{ ...base, messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "x" }] }] }, "messages[0].content[0].tool_use_id", /unexpected `tool_use_id`.*toolu_9/],
        [
          { ...base, messages: [{ role: "user", content: "go" }, { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "t", input: {} }, { type: "tool_use", id: "toolu_2", name: "t", input: {} }] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1" }] }] },
          "messages[1]",
          /`tool_use` ids were found without `tool_result` blocks immediately after: toolu_2\./,
        ],
        [{ ...base, messages: [{ role: "user", content: "go" }, { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "t", input: "x=1" }] }] }, "messages[1].content[0].input", /must be an object/],
        [{ ...base, messages: [{ role: "user", content: "go" }, { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "t", input: [1] }] }] }, "messages[1].content[0].input", /must be an object/],
        [{ ...base, tools: [{ type: "web_search_20250305", name: "web_search" }] }, "tools[0].type", /server tools/],
        [{ ...base, tools: [{ name: "t" }] }, "tools[0].input_schema", /input_schema/],
        [{ ...base, tools: [{ name: "t", input_schema: {} }, { name: "u", input_schema: {} }, { name: "t", input_schema: {} }] }, "tools[2].name", /must be unique: "t"/],
        [{ ...base, tool_choice: { type: "any" } }, "tool_choice", /needs tools/],
        [{ ...base, tools: [{ name: "t", input_schema: {} }], tool_choice: { type: "tool", name: "u" } }, "tool_choice.name", /not in tools/],
        [{ ...base, thinking: { type: "enabled", budget_tokens: 16 } }, "thinking.budget_tokens", /less than max_tokens/],
        [{ ...base, mcp_servers: [{ type: "url", url: "x", name: "y" }] }, "mcp_servers", /MCP/],
        [{ ...base, container: "c" }, "container", /containers/],
        [{ ...base, temperature: 1.5 }, "temperature", /temperature/],
        [{ ...base, messages: [{ role: "system", content: "x" }] }, "messages[0].role", /role/],
        [{ ...base, nonsense: true }, "nonsense", /Unrecognized/],
        [{ ...base, output_format: { type: "json_schema", schema: {} }, output_config: { format: { type: "json_schema", schema: {} } } }, "output_format", /not both/],
      ];
      for (const [body, param, message] of cases) {
        const err = refused(body);
        expect(err.code, JSON.stringify(body)).to.equal("bad_request");
        expect(err.param, JSON.stringify(body)).to.equal(param);
        expect(err.message, JSON.stringify(body)).to.match(message);
      }
    });
  });

  describe("toMessage", () => {
    it("puts thinking, text and tool_use blocks in order with Anthropic's usage and stop reason", () => {
      const m = toMessage(
        {
          text: "Checking.",
          reasoning: "hmm",
          toolCalls: [{ id: "call_1", name: "t", arguments: '{"a":1}' }],
          finishReason: "tool_calls",
          usage: { inputTokens: 30, outputTokens: 9, cachedInputTokens: 20 },
        },
        { id: "msg_1", model: "m" },
      );
      expect(m).to.deep.equal({
        id: "msg_1",
        type: "message",
        role: "assistant",
        model: "m",
        content: [
          { type: "thinking", thinking: "hmm", signature: "" },
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "call_1", name: "t", input: { a: 1 } },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 20 },
      });
    });

    it("maps every finish reason to exactly one of Anthropic's four", () => {
      const result = (finishReason: "stop" | "length" | "cancelled", stopSequence?: string) =>
        toMessage({ text: "x", toolCalls: [], finishReason, usage: { inputTokens: 1, outputTokens: 1 }, ...(stopSequence ? { stopSequence } : {}) }, { id: "i", model: "m" });
      expect([result("stop").stop_reason, result("length").stop_reason, result("cancelled").stop_reason]).to.deep.equal(["end_turn", "max_tokens", "end_turn"]);
      const stopped = result("stop", "END");
      expect([stopped.stop_reason, stopped.stop_sequence]).to.deep.equal(["stop_sequence", "END"]);
      expect(toMessage({ text: "", toolCalls: [], finishReason: "stop", usage: { inputTokens: 1, outputTokens: 0 } }, { id: "i", model: "m" }).content).to.deep.equal([{ type: "text", text: "" }]);
    });
  });

  describe("toMessageStreamEvents", () => {
    const usage = { input_tokens: 7, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    const start = { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage } };

    it("emits the exact sequence for thinking, text and a streamed tool call", async () => {
      const events = await collect([
        { type: "start", inputTokens: 7 },
        { type: "reasoning", text: "hm" },
        { type: "reasoning", text: "m" },
        { type: "text", text: "Hi" },
        { type: "text", text: "" },
        { type: "tool_call_start", index: 0, id: "call_1", name: "t" },
        { type: "tool_call_delta", index: 0, argumentsDelta: '{"a":' },
        { type: "tool_call_delta", index: 0, argumentsDelta: "1}" },
        { type: "done", finishReason: "tool_calls", usage: { inputTokens: 7, outputTokens: 5 } },
      ]);
      expect(events).to.deep.equal([
        start,
        { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } },
        { type: "ping" },
        { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hm" } },
        { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "m" } },
        { type: "content_block_stop", index: 0 },
        { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
        { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Hi" } },
        { type: "content_block_stop", index: 1 },
        { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "call_1", name: "t", input: {} } },
        { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"a":' } },
        { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "1}" } },
        { type: "content_block_stop", index: 2 },
        { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { ...usage, output_tokens: 5 } },
        { type: "message_stop" },
      ]);
    });

    it("starts with zero input tokens when the backend sends no start event, and reports the stop sequence", async () => {
      const events = await collect([{ type: "done", finishReason: "stop", stopSequence: "END", usage: { inputTokens: 7, outputTokens: 0 } }]);
      expect(events).to.deep.equal([
        { ...start, message: { ...start.message, usage: { ...usage, input_tokens: 0 } } },
        { type: "ping" },
        { type: "message_delta", delta: { stop_reason: "stop_sequence", stop_sequence: "END" }, usage },
        { type: "message_stop" },
      ]);
    });

    it("puts the whole usage, input and cache reads included, in message_delta, as Anthropic's cumulative totals", async () => {
      // An OpenAI upstream says the prompt's size (and what its cache served) only in its last chunk.
      const events = await collect([{ type: "text", text: "Hi" }, { type: "done", finishReason: "stop", usage: { inputTokens: 11, outputTokens: 7, cachedInputTokens: 4 } }]);
      expect(events.at(-2)).to.deep.equal({
        type: "message_delta",
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { input_tokens: 7, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 4 },
      });
    });
  });

  describe("errors", () => {
    it("uses Anthropic's types and statuses", () => {
      const cases: [HttpError, number, string][] = [
        [new HttpError("bad_request", "bad", undefined, undefined, "max_tokens"), 400, "invalid_request_error"],
        [new HttpError("unauthorized", "no key"), 401, "authentication_error"],
        [new HttpError("forbidden", "no"), 403, "permission_error"],
        [new HttpError("model_not_found", "gone"), 404, "not_found_error"],
        [new HttpError("payload_too_large", "big"), 413, "request_too_large"],
        [new HttpError("queue_full", "busy"), 429, "rate_limit_error"],
        [new HttpError("internal", "oops"), 500, "api_error"],
        [new HttpError("unavailable", "draining"), 529, "overloaded_error"],
      ];
      for (const [err, status, type] of cases) {
        expect(toAnthropicStatus(err)).to.equal(status);
        expect(toAnthropicError(err).error.type).to.equal(type);
      }
      expect(toAnthropicError(cases[0]![0])).to.deep.equal({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: bad" } });
    });

    it("words a prompt longer than the context as Anthropic does, sizes included", () => {
      const err = contextLengthExceeded("the prompt is 5000 tokens but the context holds 2048 (MLXM_CONTEXT_SIZE)", "messages", { prompt_tokens: 5000, context_size: 2048 });
      expect([toAnthropicStatus(err), toAnthropicError(err)]).to.deep.equal([
        400,
        { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 5000 tokens > 2048 maximum (the model's context, MLXM_CONTEXT_SIZE)" } },
      ]);
    });
  });
});
