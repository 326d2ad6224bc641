import { expect } from "chai";
import { fromChatCompletionRequest } from "../../src/daemon/compat/openai-chat.js";
import { toChatCompletion, toChatCompletionChunks } from "../../src/daemon/compat/openai-chat-response.js";
import { HttpError } from "../../src/daemon/errors.js";
import { PDF, PDF_PART, PNG_PART, URL_IMAGE_PART, pngDataUrl } from "../helpers/images.js";
import { collect, replay } from "../helpers/streams.js";

const meta = { id: "chatcmpl-1", created: 1700000000, model: "m" };

/** The 400 a body gets, as {param, message}. */
function rejection(body: unknown): { param: string | undefined; message: string; status: number } {
  try {
    fromChatCompletionRequest(body);
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    const e = err as HttpError;
    return { param: e.param, message: e.message, status: e.status };
  }
  throw new Error("expected a rejection");
}

const base = { model: "m", messages: [{ role: "user", content: "hi" }] };

describe("compat: OpenAI chat request → core", () => {
  it("translates messages, sampling, stop, max tokens and stream options", () => {
    const t = fromChatCompletionRequest({
      model: "m",
      messages: [
        { role: "developer", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
      ],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      min_p: 0.05,
      seed: 7,
      max_tokens: 99,
      max_completion_tokens: 12,
      frequency_penalty: 0.1,
      presence_penalty: -0.2,
      stop: "END",
      stream: true,
      stream_options: { include_usage: true },
      user: "u1",
      n: 1,
      logprobs: false,
    });
    expect(t.stream).to.equal(true);
    expect(t.includeUsage).to.equal(true);
    expect(t.request).to.deep.equal({
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "a\nb" },
      ],
      sampling: { temperature: 0.5, topP: 0.9, topK: 40, minP: 0.05, seed: 7, maxTokens: 12, frequencyPenalty: 0.1, presencePenalty: -0.2, stop: ["END"] },
    });
  });

  it("uses max_tokens when max_completion_tokens is absent, and nulls as absent", () => {
    const t = fromChatCompletionRequest({ ...base, max_tokens: 5, temperature: null, stop: null, tools: null });
    expect(t.request.sampling).to.deep.equal({ maxTokens: 5 });
    expect(t.stream).to.equal(false);
    expect(t.request.tools).to.equal(undefined);
  });

  it("translates tools, tool_choice and a tool round trip", () => {
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const t = fromChatCompletionRequest({
      model: "m",
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    expect(t.request.tools).to.deep.equal([{ name: "get_weather", description: "Weather", parameters: tools[0]!.function.parameters }]);
    expect(t.request.toolChoice).to.deep.equal({ type: "tool", name: "get_weather" });
    expect(t.request.messages.slice(1)).to.deep.equal([
      { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
      { role: "tool", content: "sunny", toolCallId: "call_1", name: "get_weather" },
    ]);
    const auto = fromChatCompletionRequest({ ...base, tools });
    expect(auto.request.toolChoice).to.deep.equal({ type: "auto" });
    expect(fromChatCompletionRequest({ ...base, tools, tool_choice: "required" }).request.toolChoice).to.deep.equal({ type: "required" });
    expect(fromChatCompletionRequest({ ...base, tools, tool_choice: "none" }).request.toolChoice).to.deep.equal({ type: "none" });
    // One call per turn reaches the engine (node-llama-cpp's maxParallelFunctionCalls) and translated upstreams.
    expect(fromChatCompletionRequest({ ...base, tools, parallel_tool_calls: false }).request.parallelToolCalls).to.equal(false);
    expect(fromChatCompletionRequest({ ...base, tools, parallel_tool_calls: true }).request).not.to.have.property("parallelToolCalls");
  });

  it("translates response_format json_object and json_schema", () => {
    expect(fromChatCompletionRequest({ ...base, response_format: { type: "text" } }).request.responseFormat).to.equal(undefined);
    expect(fromChatCompletionRequest({ ...base, response_format: { type: "json_object" } }).request.responseFormat).to.deep.equal({ type: "json_object" });
    const schema = { type: "object", properties: { a: { type: "number" } }, required: ["a"] };
    expect(
      fromChatCompletionRequest({ ...base, response_format: { type: "json_schema", json_schema: { name: "thing", schema, strict: true } } }).request.responseFormat,
    ).to.deep.equal({ type: "json_schema", name: "thing", schema, strict: true });
  });

  it("takes reasoning_effort as the Responses API takes reasoning.effort: none is off, a level is on and kept", () => {
    const reasoning = (effort: string) => fromChatCompletionRequest({ ...base, reasoning_effort: effort }).request.reasoning;
    expect(reasoning("none")).to.deep.equal({ enabled: false, param: "reasoning_effort", hint: true });
    expect(reasoning("high")).to.deep.equal({ enabled: true, param: "reasoning_effort", hint: true, effort: "high" });
    expect(fromChatCompletionRequest({ ...base, reasoning_effort: null }).request.reasoning).to.equal(undefined);
  });

  it("rejects what mlxm cannot honour, naming the parameter", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ n: 2 }, "n"],
      [{ logprobs: true }, "logprobs"],
      [{ top_logprobs: 3 }, "top_logprobs"],
      [{ logit_bias: { "42": 10 } }, "logit_bias"],
      [{ modalities: ["text", "audio"] }, "modalities"],
      [{ audio: { voice: "alloy", format: "mp3" } }, "audio"],
      [{ prediction: { type: "content", content: "x" } }, "prediction"],
      [{ reasoning_effort: "lots" }, "reasoning_effort"],
      [{ functions: [{ name: "f" }] }, "functions"],
      [{ store: true }, "store"],
      [{ web_search_options: {} }, "web_search_options"],
      [{ stream_options: { include_usage: true } }, "stream_options"],
    ];
    for (const [extra, param] of cases) {
      const r = rejection({ ...base, ...extra });
      expect(r.status, param).to.equal(400);
      expect(r.param, JSON.stringify(extra)).to.equal(param);
    }
  });

  it("refuses a tool message whose tool_call_id answers no earlier call, and takes one that answers a call anywhere before", () => {
    const asked = { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: "{}" } }] };
    expect(rejection({ ...base, messages: [{ role: "user", content: "hi" }, { role: "tool", tool_call_id: "call_9", content: "x" }] }).param).to.equal(
      "messages[1].tool_call_id",
    );
    expect(rejection({ ...base, messages: [{ role: "user", content: "hi" }, asked, { role: "tool", tool_call_id: "call_2", content: "x" }] }).param).to.equal(
      "messages[2].tool_call_id",
    );
    // A result after other turns (a client that reorders or interleaves) still names its call: it is accepted.
    const later = fromChatCompletionRequest({
      ...base,
      messages: [{ role: "user", content: "hi" }, asked, { role: "user", content: "and?" }, { role: "tool", tool_call_id: "call_1", content: "sunny" }],
    });
    expect(later.request.messages.at(-1)).to.deep.equal({ role: "tool", content: "sunny", toolCallId: "call_1", name: "weather" });
  });

  it("takes image_url parts (data: URLs as bytes, detail kept) and PDF file parts in user turns, in order", () => {
    const { request } = fromChatCompletionRequest({
      model: "m",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what?" },
            { type: "image_url", image_url: { url: pngDataUrl, detail: "low" } },
            { type: "image_url", image_url: { url: "https://x/a.jpg" } },
            { type: "file", file: { file_data: `data:application/pdf;base64,${PDF}`, filename: "a.pdf" } },
          ],
        },
      ],
    });
    expect(request.messages).to.deep.equal([
      {
        role: "user",
        content: "what?",
        parts: [
          { type: "text", text: "what?" },
          { ...PNG_PART, detail: "low" },
          URL_IMAGE_PART,
          PDF_PART,
        ],
      },
    ]);
  });

  it("rejects invalid fields with a 400 naming the path", () => {
    expect(rejection({ ...base, temperature: 3 }).param).to.equal("temperature");
    expect(rejection({ ...base, max_tokens: 0 }).param).to.equal("max_tokens");
    expect(rejection({ ...base, stop: ["a", "b", "c", "d", "e"] }).param).to.equal("stop");
    expect(rejection({ model: "m", messages: [] }).param).to.equal("messages");
    expect(rejection({ messages: base.messages }).param).to.equal("model");
    expect(rejection({ ...base, messages: [{ role: "wizard", content: "x" }] }).param).to.equal("messages[0].role");
    expect(rejection({ ...base, messages: [{ role: "user" }] }).param).to.equal("messages[0].content");
    expect(rejection({ ...base, messages: [{ role: "tool", content: "x" }] }).param).to.equal("messages[0].tool_call_id");
    expect(rejection({ ...base, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }).param).to.equal(
      "messages[0].content[0].image_url.url",
    );
    expect(rejection({ ...base, messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] }).param).to.equal("messages[0].content[0].type");
    expect(rejection({ ...base, messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x/a.png" } }] }] }).param).to.equal(
      "messages[0].content[0].type",
    );
    expect(rejection({ ...base, messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] }).param).to.equal("messages[0].content[0].file.file_id");
    expect(rejection({ ...base, tools: [{ type: "custom", custom: {} }] }).param).to.equal("tools[0].type");
    expect(rejection({ ...base, tool_choice: "required" }).param).to.equal("tool_choice");
    expect(rejection({ ...base, tools: [{ type: "function", function: { name: "a" } }], tool_choice: { type: "function", function: { name: "b" } } }).param).to.equal(
      "tool_choice",
    );
    const unknown = rejection({ ...base, frobnicate: true });
    expect(unknown.param).to.equal("frobnicate");
    expect(unknown.message).to.match(/Unrecognized request argument/);
    expect(rejection([1, 2]).status).to.equal(400);
  });
});

describe("compat: core result → OpenAI chat completion", () => {
  it("builds a completion with usage and finish_reason", () => {
    const c = toChatCompletion({ text: "hello", toolCalls: [], finishReason: "length", usage: { inputTokens: 3, outputTokens: 4 } }, meta);
    expect(c).to.deep.equal({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1700000000,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "hello", refusal: null }, logprobs: null, finish_reason: "length" }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  it("reports cached prompt tokens as prompt_tokens_details.cached_tokens", () => {
    const c = toChatCompletion(
      { text: "", toolCalls: [], finishReason: "length", usage: { inputTokens: 9, outputTokens: 1, cachedInputTokens: 8 } },
      meta,
    );
    expect(c.usage).to.deep.equal({ prompt_tokens: 9, completion_tokens: 1, total_tokens: 10, prompt_tokens_details: { cached_tokens: 8 } });
  });

  it("puts tool calls in the message with null content", () => {
    const c = toChatCompletion(
      { text: "", toolCalls: [{ id: "call_a", name: "f", arguments: '{"x":1}' }], finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 2 } },
      meta,
    );
    expect(c.choices[0]!.finish_reason).to.equal("tool_calls");
    expect(c.choices[0]!.message.content).to.equal(null);
    expect(c.choices[0]!.message.tool_calls).to.deep.equal([{ id: "call_a", type: "function", function: { name: "f", arguments: '{"x":1}' } }]);
  });

  it("reports a cancelled generation as stop", () => {
    expect(toChatCompletion({ text: "", toolCalls: [], finishReason: "cancelled", usage: { inputTokens: 0, outputTokens: 0 } }, meta).choices[0]!.finish_reason).to.equal("stop");
  });
});

describe("compat: core events → OpenAI chunks", () => {
  it("streams a role chunk, content, a finish chunk and the usage chunk", async () => {
    const chunks = await collect(
      toChatCompletionChunks(
        replay([
          { type: "text", text: "He" },
          { type: "text", text: "llo" },
          { type: "done", finishReason: "stop", usage: { inputTokens: 5, outputTokens: 2 } },
        ]),
        meta,
        { includeUsage: true },
      ),
    );
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).to.deep.equal([{ role: "assistant", content: "" }, { content: "He" }, { content: "llo" }, {}, null]);
    expect(chunks.map((c) => c.choices[0]?.finish_reason ?? null)).to.deep.equal([null, null, null, "stop", null]);
    expect(chunks.slice(0, 4).every((c) => c.usage === null)).to.equal(true);
    expect(chunks[4]).to.deep.equal({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1700000000, model: "m", choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } });
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === "chatcmpl-1")).to.equal(true);
  });

  it("omits usage entirely without include_usage", async () => {
    const chunks = await collect(toChatCompletionChunks(replay([{ type: "done", finishReason: "length", usage: { inputTokens: 1, outputTokens: 1 } }]), meta));
    expect(chunks).to.have.length(2);
    expect(chunks.every((c) => !("usage" in c))).to.equal(true);
    expect(chunks[1]!.choices[0]!.finish_reason).to.equal("length");
  });

  it("streams tool calls as OpenAI deltas: first with id, type and name, then argument pieces", async () => {
    const chunks = await collect(
      toChatCompletionChunks(
        replay([
          { type: "tool_call_start", index: 0, id: "call_x", name: "get_weather" },
          { type: "tool_call_delta", index: 0, argumentsDelta: '{"city":' },
          { type: "tool_call_delta", index: 0, argumentsDelta: '"Paris"}' },
          { type: "done", finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 9 } },
        ]),
        meta,
      ),
    );
    expect(chunks.map((c) => c.choices[0]!.delta)).to.deep.equal([
      { role: "assistant", content: "" },
      { tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "get_weather", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {},
    ]);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).to.equal("tool_calls");
  });

  it("starts a turn that may call tools as OpenAI does: role and first call in one chunk with content null", async () => {
    const deltas = async (events: Parameters<typeof replay>[0]) =>
      (await collect(toChatCompletionChunks(replay(events), meta, { mayCallTools: true }))).map((c) => c.choices[0]!.delta);
    const done = { type: "done", finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 9 } } as const;
    expect(
      await deltas([
        { type: "start", inputTokens: 1 },
        { type: "tool_call_start", index: 0, id: "call_x", name: "get_weather" },
        { type: "tool_call_delta", index: 0, argumentsDelta: "{}" },
        done,
      ]),
    ).to.deep.equal([
      { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "get_weather", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: "{}" } }] },
      {},
    ]);
    // The model answered in text after all: a text turn's first chunk. Cut short before anything: no content either.
    expect(await deltas([{ type: "text", text: "Hi" }, { ...done, finishReason: "stop" }])).to.deep.equal([{ role: "assistant", content: "" }, { content: "Hi" }, {}]);
    expect(await deltas([{ ...done, finishReason: "length" }])).to.deep.equal([{ role: "assistant", content: null }, {}]);
  });

  it("says in the translation whether the answer may be a tool-call turn", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    expect(fromChatCompletionRequest(base).mayCallTools).to.equal(false);
    expect(fromChatCompletionRequest({ ...base, tools }).mayCallTools).to.equal(true);
    expect(fromChatCompletionRequest({ ...base, tools, tool_choice: "required" }).mayCallTools).to.equal(true);
    expect(fromChatCompletionRequest({ ...base, tools, tool_choice: "none" }).mayCallTools).to.equal(false);
  });
});
