/** The client-side translators (core -> vendor SDK request, vendor stream -> core events), exact deep-equal. */
import { expect } from "chai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import type { RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import type { ChatRequest, ContentPart } from "../../src/daemon/core/chat.js";
import { OpenAIChunkDecoder, toOpenAIUpstreamRequest } from "../../src/daemon/routing/openai-upstream.js";
import { AnthropicEventDecoder, DEFAULT_ANTHROPIC_MAX_TOKENS, toAnthropicUpstreamRequest } from "../../src/daemon/routing/anthropic-upstream.js";
import { PDF, PDF_PART, PNG, PNG_PART, URL_IMAGE_PART, pngDataUrl } from "../helpers/images.js";

const params = { type: "object", properties: { city: { type: "string" } } };
const conversation: ChatRequest = {
  model: "alias",
  messages: [
    { role: "system", content: "be brief" },
    { role: "user", content: "weather?" },
    { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
    { role: "tool", content: "sunny", toolCallId: "call_1" },
    { role: "user", content: "thanks" },
  ],
  tools: [{ name: "get_weather", description: "Weather", parameters: params }],
  toolChoice: { type: "tool", name: "get_weather" },
  sampling: { maxTokens: 64, temperature: 0.5, topP: 0.9, seed: 7, stop: ["END"] },
};

describe("routing: OpenAI upstream translation", () => {
  it("builds a streamed request with usage, tools, tool results and sampling", () => {
    expect(toOpenAIUpstreamRequest(conversation, "gpt-up")).to.deep.equal({
      model: "gpt-up",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", content: "sunny", tool_call_id: "call_1" },
        { role: "user", content: "thanks" },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      seed: 7,
      stop: ["END"],
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: params } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
  });

  it("passes one-call-per-turn on (Anthropic's disable_parallel_tool_use), only with tools", () => {
    expect(toOpenAIUpstreamRequest({ ...conversation, parallelToolCalls: false }, "gpt-up").parallel_tool_calls).to.equal(false);
    const noTools = toOpenAIUpstreamRequest({ ...conversation, tools: undefined, toolChoice: undefined, parallelToolCalls: false }, "gpt-up");
    expect(noTools).not.to.have.property("parallel_tool_calls");
  });

  it("passes a JSON schema response format", () => {
    const req: ChatRequest = { model: "m", messages: [], sampling: {}, responseFormat: { type: "json_schema", name: "x", schema: params, strict: true } };
    expect(toOpenAIUpstreamRequest(req, "m").response_format).to.deep.equal({ type: "json_schema", json_schema: { name: "x", schema: params, strict: true } });
  });

  it("decodes text, tool-call deltas, the finish reason and the trailing usage chunk", () => {
    const base = { id: "c", object: "chat.completion.chunk" as const, created: 1, model: "gpt-up-2025" };
    const chunks: ChatCompletionChunk[] = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "f", arguments: "" } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      { ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, prompt_tokens_details: { cached_tokens: 2 } } },
    ];
    const d = new OpenAIChunkDecoder();
    expect(chunks.flatMap((c) => d.decode(c))).to.deep.equal([
      { type: "text", text: "Hi" },
      { type: "tool_call_start", index: 0, id: "call_9", name: "f" },
      { type: "tool_call_delta", index: 0, argumentsDelta: '{"a":1}' },
    ]);
    expect(d.finish()).to.deep.equal({ type: "done", finishReason: "tool_calls", usage: { inputTokens: 5, outputTokens: 3, cachedInputTokens: 2 } });
    expect(d.responseModel).to.equal("gpt-up-2025");
  });
});

describe("routing: Anthropic upstream translation", () => {
  // No seed: the Messages API has none (see the refusals below).
  const { seed: _seed, ...sampling } = conversation.sampling;
  const toClaude: ChatRequest = { ...conversation, sampling };

  it("moves system turns to `system`, tool calls to tool_use, tool results to user tool_result blocks; sends sampling", () => {
    expect(toAnthropicUpstreamRequest({ ...toClaude, sampling: { ...sampling, topK: 40 } }, "claude-up")).to.deep.equal({
      model: "claude-up",
      max_tokens: 64,
      stream: true,
      system: "be brief",
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      messages: [
        { role: "user", content: [{ type: "text", text: "weather?" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "sunny" }, { type: "text", text: "thanks" }] },
      ],
      stop_sequences: ["END"],
      tools: [{ name: "get_weather", description: "Weather", input_schema: params }],
      tool_choice: { type: "tool", name: "get_weather" },
    });
  });

  it("keeps the tools with tool_choice none (a history with tool_use needs them) and says one call per turn", () => {
    const none = toAnthropicUpstreamRequest({ ...toClaude, toolChoice: { type: "none" } }, "claude-up");
    expect(none.tools).to.have.length(1);
    expect(none.tool_choice).to.deep.equal({ type: "none" });
    const one = toAnthropicUpstreamRequest({ ...toClaude, toolChoice: undefined, parallelToolCalls: false }, "claude-up");
    expect(one.tool_choice).to.deep.equal({ type: "auto", disable_parallel_tool_use: true });
    const forced = toAnthropicUpstreamRequest({ ...toClaude, toolChoice: { type: "required" }, parallelToolCalls: false }, "claude-up");
    expect(forced.tool_choice).to.deep.equal({ type: "any", disable_parallel_tool_use: true });
  });

  it("gives a request without max tokens Anthropic's required max_tokens", () => {
    expect(toAnthropicUpstreamRequest({ model: "m", messages: [{ role: "user", content: "x" }], sampling: {} }, "m")).to.deep.equal({
      model: "m",
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      stream: true,
      messages: [{ role: "user", content: [{ type: "text", text: "x" }] }],
    });
  });

  it("decodes text and tool_use blocks, counting tool calls apart from content blocks, and cached input", () => {
    const events = [
      { type: "message_start", message: { id: "m", type: "message", role: "assistant", model: "claude-up-1", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 } } },
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Let me check." } },
      { type: "content_block_stop", index: 0 },
      { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} } },
      { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"a":' } },
      { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "1}" } },
      { type: "content_block_stop", index: 1 },
      { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 12 } },
      { type: "message_stop" },
    ] as unknown as RawMessageStreamEvent[];
    const d = new AnthropicEventDecoder();
    expect(events.flatMap((e) => d.decode(e))).to.deep.equal([
      { type: "text", text: "Let me check." },
      { type: "tool_call_start", index: 0, id: "toolu_1", name: "f" },
      { type: "tool_call_delta", index: 0, argumentsDelta: '{"a":' },
      { type: "tool_call_delta", index: 0, argumentsDelta: "1}" },
    ]);
    expect(d.finish()).to.deep.equal({ type: "done", finishReason: "tool_calls", usage: { inputTokens: 14, outputTokens: 12, cachedInputTokens: 4 } });
  });
});

describe("images and documents sent to translated upstreams", () => {
  const png: ContentPart = { ...PNG_PART, detail: "high" };
  const url: ContentPart = URL_IMAGE_PART;
  const pdf: ContentPart = PDF_PART;
  const request: ChatRequest = {
    model: "m",
    sampling: {},
    messages: [
      { role: "user", content: "look", parts: [{ type: "text", text: "look" }, png, url, pdf] },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "shot", arguments: "{}" }, { id: "c2", name: "read", arguments: "{}" }] },
      { role: "tool", content: "", parts: [png], toolCallId: "c1", name: "shot" },
      { role: "tool", content: "done", toolCallId: "c2", name: "read" },
    ],
  };

  it("gives OpenAI image_url parts (bytes as data: URLs, detail kept) and file parts; a tool result's images follow the results", () => {
    const sent = toOpenAIUpstreamRequest(request, "gpt-up", "openai");
    expect(sent.messages).to.deep.equal([
      {
        role: "user",
        content: [
          { type: "text", text: "look" },
          { type: "image_url", image_url: { url: pngDataUrl, detail: "high" } },
          { type: "image_url", image_url: { url: "https://x/a.jpg" } },
          { type: "file", file: { file_data: `data:application/pdf;base64,${PDF}`, filename: "a.pdf" } },
        ],
      },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "shot", arguments: "{}" } }, { id: "c2", type: "function", function: { name: "read", arguments: "{}" } }] },
      { role: "tool", content: "(its attachments follow)", tool_call_id: "c1" },
      { role: "tool", content: "done", tool_call_id: "c2" },
      { role: "user", content: [{ type: "text", text: "Attachments of the result of tool call c1 (shot):" }, { type: "image_url", image_url: { url: pngDataUrl, detail: "high" } }] },
    ]);
  });

  it("gives Anthropic base64 and url image blocks and base64 documents, in user turns and tool results", () => {
    const image = { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } };
    expect(toAnthropicUpstreamRequest(request, "claude-up").messages).to.deep.equal([
      {
        role: "user",
        content: [
          { type: "text", text: "look" },
          image,
          { type: "image", source: { type: "url", url: "https://x/a.jpg" } },
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF }, title: "a.pdf" },
        ],
      },
      { role: "assistant", content: [{ type: "tool_use", id: "c1", name: "shot", input: {} }, { type: "tool_use", id: "c2", name: "read", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "c1", content: [image] }, { type: "tool_result", tool_use_id: "c2", content: "done" }] },
    ]);
    const bmp: ChatRequest = { model: "m", sampling: {}, messages: [{ role: "user", content: "", parts: [{ type: "image", source: { kind: "base64", mediaType: "image/bmp", data: "Qk0=" } }] }] };
    expect(() => toAnthropicUpstreamRequest(bmp, "claude-up")).to.throw(/PNG, JPEG, GIF and WebP images, not "image\/bmp"/);
  });
});

describe("route display", () => {
  it("masks credentials a stored base URL may still carry", async () => {
    const { displayUrl: withoutCredentials } = await import("../../src/observability/redact.js");
    expect(withoutCredentials("http://alice:hunter2pw@10.0.0.2:8000/v1")).to.equal("http://***@10.0.0.2:8000/v1");
    expect(withoutCredentials("https://token@host/v1?x=a@b")).to.equal("https://***@host/v1?x=a@b");
    expect(withoutCredentials("https://api.example.com/v1?user=a@b")).to.equal("https://api.example.com/v1?user=a@b");
  });
});

describe("token limit sent to OpenAI-compatible servers", () => {
  it("is max_completion_tokens for OpenAI, max_tokens (which older servers know) for the rest", async () => {
    const { toOpenAIUpstreamRequest } = await import("../../src/daemon/routing/openai-upstream.js");
    const request = { model: "m", messages: [{ role: "user" as const, content: "hi" }], sampling: { maxTokens: 5 } };
    expect(toOpenAIUpstreamRequest(request, "up")).to.include({ max_completion_tokens: 5 }).and.not.have.property("max_tokens");
    expect(toOpenAIUpstreamRequest(request, "up", "openai-compatible")).to.include({ max_tokens: 5 }).and.not.have.property("max_completion_tokens");
  });
});

describe("sampling options an upstream cannot honour", () => {
  const ask = (sampling: ChatRequest["sampling"]): ChatRequest => ({ model: "m", messages: [{ role: "user", content: "hi" }], sampling });
  /** The 400 a translation throws, as [param, message], or undefined when it translates. */
  const refusal = (translate: () => unknown): [string | undefined, string] | undefined => {
    try {
      translate();
      return undefined;
    } catch (err) {
      return [(err as { param?: string }).param, (err as Error).message];
    }
  };

  it("refuses to Anthropic a seed, penalties and min_p that would change the sampling, naming the parameter and the provider", () => {
    for (const [sampling, param] of [
      [{ seed: 0 }, "seed"],
      [{ presencePenalty: -2 }, "presence_penalty"],
      [{ frequencyPenalty: 0.5 }, "frequency_penalty"],
      [{ minP: 0.05 }, "min_p"],
      [{ repeatPenalty: 1.1 }, "repeat_penalty"],
    ] as const) {
      const [refused, message] = refusal(() => toAnthropicUpstreamRequest(ask(sampling), "claude-up")) ?? [];
      expect(refused, param).to.equal(param);
      expect(message).to.contain(param).and.to.contain("anthropic").and.to.contain("claude-up");
    }
  });

  it("refuses to OpenAI a top_k, min_p or repeat_penalty; OpenAI-compatible servers and mlxm get them as body fields", () => {
    const extras = { topK: 20, minP: 0.05, repeatPenalty: 1.1 };
    expect(refusal(() => toOpenAIUpstreamRequest(ask({ topK: 20 }), "gpt-up", "openai"))).to.deep.equal([
      "top_k",
      "top_k is not supported by openai, which serves this model (gpt-up): leave it out or set it to 0",
    ]);
    expect(refusal(() => toOpenAIUpstreamRequest(ask({ minP: 0.05 }), "gpt-up", "openai"))?.[0]).to.equal("min_p");
    expect(refusal(() => toOpenAIUpstreamRequest(ask({ repeatPenalty: 1.1 }), "gpt-up", "openai"))?.[0]).to.equal("repeat_penalty");
    for (const provider of ["openai-compatible", "mlxm"] as const) {
      expect(toOpenAIUpstreamRequest(ask(extras), "up", provider), provider).to.include({ top_k: 20, min_p: 0.05, repeat_penalty: 1.1 });
    }
  });

  it("refuses repeat_last_n to OpenAI when a penalty is in effect (OpenAI's penalties have no window), passes it to servers that take it", () => {
    expect(refusal(() => toOpenAIUpstreamRequest(ask({ frequencyPenalty: 0.5, repeatLastN: 0 }), "gpt-up", "openai"))?.[0]).to.equal("repeat_last_n");
    expect(toOpenAIUpstreamRequest(ask({ repeatLastN: 32 }), "gpt-up", "openai")).to.not.have.any.keys("repeat_last_n");
    expect(toAnthropicUpstreamRequest(ask({ repeatLastN: 32 }), "claude-up")).to.not.have.any.keys("repeat_last_n");
    for (const provider of ["openai-compatible", "mlxm"] as const) {
      expect(toOpenAIUpstreamRequest(ask({ repeatPenalty: 1.1, repeatLastN: 0 }), "up", provider), provider).to.include({ repeat_penalty: 1.1, repeat_last_n: 0 });
    }
  });

  it("lets the values that change nothing pass silently (clients send them by default), without sending them", () => {
    const anthropic = toAnthropicUpstreamRequest(ask({ presencePenalty: 0, frequencyPenalty: 0, minP: 0, repeatPenalty: 1 }), "claude-up");
    expect(anthropic).to.not.have.any.keys("presence_penalty", "frequency_penalty", "min_p", "repeat_penalty");
    const openai = toOpenAIUpstreamRequest(ask({ topK: 0, minP: 0, repeatPenalty: 1, presencePenalty: 0 }), "gpt-up", "openai");
    expect(openai).to.not.have.any.keys("top_k", "min_p", "repeat_penalty");
    expect(openai).to.include({ presence_penalty: 0 });
  });
});

describe("reasoning sent to translated upstreams", () => {
  const ask = (reasoning: ChatRequest["reasoning"], maxTokens?: number, messages: ChatRequest["messages"] = [{ role: "user", content: "why?" }]): ChatRequest => ({
    model: "m",
    messages,
    sampling: maxTokens === undefined ? {} : { maxTokens },
    ...(reasoning ? { reasoning } : {}),
  });

  it("gives OpenAI-protocol upstreams the caller's level, or the level nearest a thinking budget", () => {
    const effort = (r: ChatRequest["reasoning"], provider: "openai" | "openai-compatible" | "mlxm" = "openai") =>
      (toOpenAIUpstreamRequest(ask(r), "up", provider) as { reasoning_effort?: string }).reasoning_effort;
    expect(effort({ enabled: true, effort: "high" })).to.equal("high");
    expect(effort({ enabled: true, effort: "low" }, "openai-compatible")).to.equal("low");
    expect([1024, 2048, 10000].map((budgetTokens) => effort({ enabled: true, budgetTokens }))).to.deep.equal(["low", "medium", "high"]);
    // On without a level (Ollama's think: true, Anthropic's adaptive): the upstream model's own default.
    expect(effort({ enabled: true })).to.equal(undefined);
    // Off: only another mlxm daemon takes "none"; OpenAI's models differ in their lowest level.
    expect(effort({ enabled: false })).to.equal(undefined);
    expect(effort({ enabled: false }, "mlxm")).to.equal("none");
    expect(effort(undefined)).to.equal(undefined);
  });

  it("gives Anthropic upstreams a thinking budget below max_tokens, raising the default limit above it", () => {
    const sent = (r: ChatRequest["reasoning"], maxTokens?: number, messages?: ChatRequest["messages"]) => {
      const p = toAnthropicUpstreamRequest(ask(r, maxTokens, messages), "claude-up");
      return { thinking: p.thinking, max_tokens: p.max_tokens };
    };
    expect(sent({ enabled: true, effort: "high" })).to.deep.equal({ thinking: { type: "enabled", budget_tokens: 4096 }, max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS + 4096 });
    expect(sent({ enabled: true }, 8000)).to.deep.equal({ thinking: { type: "enabled", budget_tokens: 2048 }, max_tokens: 8000 });
    expect(sent({ enabled: true, effort: "max" }, 3000)).to.deep.equal({ thinking: { type: "enabled", budget_tokens: 2999 }, max_tokens: 3000 });
    expect(sent({ enabled: false }, 50)).to.deep.equal({ thinking: { type: "disabled" }, max_tokens: 50 });
    expect(sent(undefined, 50)).to.deep.equal({ thinking: undefined, max_tokens: 50 });
    // A limit no budget fits under is the caller's to raise, named in its own terms.
    expect(() => toAnthropicUpstreamRequest(ask({ enabled: true, effort: "low", param: "reasoning_effort" }, 500), "claude-up"))
      .to.throw(/at least 1024/).with.property("param", "reasoning_effort");
    // A tool loop's continuation would need the signed thinking block the core history does not keep: sent without.
    const loop: ChatRequest["messages"] = [
      { role: "user", content: "weather?" },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "f", arguments: "{}" }] },
      { role: "tool", content: "sunny", toolCallId: "c1" },
    ];
    expect(sent({ enabled: true, effort: "high" }, 8000, loop)).to.deep.equal({ thinking: undefined, max_tokens: 8000 });
  });

  it("decodes reasoning text from both protocols' streams", () => {
    const openai = new OpenAIChunkDecoder();
    const chunk = (delta: object) => ({ id: "c", object: "chat.completion.chunk", created: 0, model: "up", choices: [{ index: 0, delta, finish_reason: null }] }) as unknown as ChatCompletionChunk;
    expect([chunk({ reasoning_content: "hmm" }), chunk({ reasoning: "so" }), chunk({ content: "yes" })].flatMap((c) => openai.decode(c))).to.deep.equal([
      { type: "reasoning", text: "hmm" },
      { type: "reasoning", text: "so" },
      { type: "text", text: "yes" },
    ]);
    const anthropic = new AnthropicEventDecoder();
    const events = [
      { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "let me see" } },
      { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig" } },
      { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "yes" } },
    ] as unknown as RawMessageStreamEvent[];
    expect(events.flatMap((e) => anthropic.decode(e))).to.deep.equal([
      { type: "reasoning", text: "let me see" },
      { type: "text", text: "yes" },
    ]);
  });
});
