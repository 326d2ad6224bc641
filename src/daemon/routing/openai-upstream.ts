/**
 * Client-side OpenAI translation: the internal chat model into an `openai` SDK streaming request, and the SDK's
 * chunks back into core events. Pure (no I/O); used for OpenAI, OpenAI-compatible servers and other mlxm daemons.
 * The server-side translators (`compat/openai-chat.ts`) are the mirror image and stay separate.
 */
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions";
import type { Provider } from "../../protocol/routes.js";
import type { ChatEvent, ChatMessage, ChatRequest, ContentPart, FinishReason, SamplingOptions, ToolChoice, Usage } from "../core/chat.js";
import { mediaOf, toDataUrl } from "../core/message-parts.js";
import { openAIReasoningEffort } from "./reasoning-upstream.js";
import { refuseUnsupportedSampling } from "./upstream-sampling.js";

/**
 * A core request as the `openai` SDK's `chat.completions.create` parameters (always streamed, usage included) for a
 * `provider` route. OpenAI's own API takes `max_completion_tokens` (its reasoning models refuse `max_tokens`); other
 * OpenAI-compatible servers (older vLLM, TGI and llama-server builds) know only `max_tokens`, which all of them take.
 * Sampling options OpenAI has no field for are refused (upstream-sampling.ts); other servers get them as extra fields.
 */
export function toOpenAIUpstreamRequest(request: ChatRequest, upstreamModel: string, provider: Provider = "openai"): ChatCompletionCreateParamsStreaming {
  const s = request.sampling;
  refuseUnsupportedSampling(s, provider, upstreamModel);
  const params: ChatCompletionCreateParamsStreaming = {
    model: upstreamModel,
    messages: toOpenAIMessages(request.messages),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (s.maxTokens !== undefined) params[provider === "openai" ? "max_completion_tokens" : "max_tokens"] = s.maxTokens;
  Object.assign(params, openAISamplingParams(s, provider));
  if (request.tools?.length) {
    params.tools = request.tools.map((t) => ({
      type: "function",
      function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters },
    }));
  }
  if (request.toolChoice) params.tool_choice = toOpenAIToolChoice(request.toolChoice);
  // Anthropic's disable_parallel_tool_use, or OpenAI's own flag passed on; only with tools (OpenAI refuses it alone).
  if (request.parallelToolCalls === false && request.tools?.length) params.parallel_tool_calls = false;
  const effort = openAIReasoningEffort(request.reasoning, provider);
  if (effort) params.reasoning_effort = effort;
  const rf = request.responseFormat;
  if (rf?.type === "json_object") params.response_format = { type: "json_object" };
  if (rf?.type === "json_schema") {
    params.response_format = {
      type: "json_schema",
      json_schema: { name: rf.name ?? "response", schema: rf.schema, ...(rf.strict !== undefined ? { strict: rf.strict } : {}) },
    };
  }
  return params;
}

/**
 * The sampling fields chat and text completions share. OpenAI-compatible servers (vLLM, llama-server, SGLang, mlxm)
 * also get llama.cpp's `top_k`, `min_p`, `repeat_penalty` and `repeat_last_n` as extra body fields.
 */
export function openAISamplingParams(s: SamplingOptions, provider: Provider): SamplingParams {
  const params: SamplingParams = {};
  if (provider !== "openai") {
    if (s.topK !== undefined) params.top_k = s.topK;
    if (s.minP !== undefined) params.min_p = s.minP;
    if (s.repeatPenalty !== undefined) params.repeat_penalty = s.repeatPenalty;
    if (s.repeatLastN !== undefined) params.repeat_last_n = s.repeatLastN;
  }
  if (s.temperature !== undefined) params.temperature = s.temperature;
  if (s.topP !== undefined) params.top_p = s.topP;
  if (s.seed !== undefined) params.seed = s.seed;
  if (s.stop?.length) params.stop = s.stop;
  if (s.frequencyPenalty !== undefined) params.frequency_penalty = s.frequencyPenalty;
  if (s.presencePenalty !== undefined) params.presence_penalty = s.presencePenalty;
  return params;
}

interface SamplingParams {
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string[];
  frequency_penalty?: number;
  presence_penalty?: number;
  top_k?: number;
  min_p?: number;
  repeat_penalty?: number;
  repeat_last_n?: number;
}

/**
 * Core messages as Chat Completions messages. A tool result's images and documents cannot go in its `tool` message
 * (OpenAI takes only text there) nor in a user message between the results of one turn's calls (refused), so they
 * follow the last of those results in one user message, each tool's led by a line naming its call.
 */
function toOpenAIMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  let fromTools: ChatCompletionContentPart[] = [];
  const flush = () => {
    if (fromTools.length) out.push({ role: "user", content: fromTools });
    fromTools = [];
  };
  for (const m of messages) {
    if (m.role !== "tool") flush();
    out.push(toOpenAIMessage(m));
    const media = m.role === "tool" ? mediaOf(m) : [];
    if (media.length) fromTools.push({ type: "text", text: `Attachments of the result of tool call ${m.toolCallId ?? ""}${m.name ? ` (${m.name})` : ""}:` }, ...media.map(toOpenAIPart));
  }
  flush();
  return out;
}

function toOpenAIMessage(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case "system":
      return { role: "system", content: m.content };
    case "user":
      return { role: "user", content: m.parts ? m.parts.map(toOpenAIPart) : m.content };
    case "tool":
      return { role: "tool", content: m.content || (m.parts ? "(its attachments follow)" : ""), tool_call_id: m.toolCallId ?? "" };
    case "assistant":
      return {
        role: "assistant",
        content: m.content === "" && m.toolCalls?.length ? null : m.content,
        ...(m.toolCalls?.length
          ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
  }
}

/** Images as `image_url` parts (bytes as a data: URL), PDFs as `file` parts, which OpenAI wants named. */
function toOpenAIPart(p: ContentPart): ChatCompletionContentPart {
  switch (p.type) {
    case "text":
      return { type: "text", text: p.text };
    case "image": {
      const url = p.source.kind === "url" ? p.source.url : toDataUrl(p.source);
      return { type: "image_url", image_url: { url, ...(p.detail ? { detail: p.detail as "auto" | "low" | "high" } : {}) } };
    }
    case "document":
      return { type: "file", file: { file_data: toDataUrl(p.source), filename: p.name ?? "document.pdf" } };
  }
}

function toOpenAIToolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  return choice.type === "tool" ? { type: "function", function: { name: choice.name } } : choice.type;
}

const FINISH: Record<string, FinishReason> = { stop: "stop", length: "length", tool_calls: "tool_calls", function_call: "tool_calls", content_filter: "stop" };

/**
 * Turns a stream of OpenAI chunks into core events. Stateful (OpenAI sends a finish reason and the usage in
 * separate chunks, and tool-call ids only on a call's first delta), so one decoder per stream; `finish()` gives the
 * one `done` event after the last chunk.
 */
export class OpenAIChunkDecoder {
  #finishReason: FinishReason = "stop";
  #usage: Usage & { cachedInputTokens?: number } = { inputTokens: 0, outputTokens: 0 };
  /** OpenAI sends a stream's usage only in its last chunk: until then the counts are unknown, not 0. */
  #usageReported = false;
  readonly #started = new Set<number>();
  /** The model the upstream says answered (may be a dated snapshot of the requested one). */
  responseModel: string | undefined;

  decode(chunk: ChatCompletionChunk): ChatEvent[] {
    const events: ChatEvent[] = [];
    if (chunk.model) this.responseModel = chunk.model;
    if (chunk.usage) {
      this.#usageReported = true;
      this.#usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
      if (cached) this.#usage.cachedInputTokens = cached;
      const reasoning = chunk.usage.completion_tokens_details?.reasoning_tokens;
      if (reasoning) this.#usage.reasoningTokens = reasoning;
    }
    const choice = chunk.choices?.[0];
    if (!choice) return events;
    const delta = choice.delta ?? {};
    // Reasoning text as vLLM, llama-server, DeepSeek and mlxm stream it (`reasoning_content`; newer vLLM: `reasoning`).
    const reasoning = (delta as { reasoning_content?: unknown; reasoning?: unknown }).reasoning_content ?? (delta as { reasoning?: unknown }).reasoning;
    if (typeof reasoning === "string" && reasoning) events.push({ type: "reasoning", text: reasoning });
    if (delta.content) events.push({ type: "text", text: delta.content });
    for (const call of delta.tool_calls ?? []) {
      if (!this.#started.has(call.index)) {
        this.#started.add(call.index);
        events.push({ type: "tool_call_start", index: call.index, id: call.id ?? `call_${call.index}`, name: call.function?.name ?? "" });
      }
      if (call.function?.arguments) events.push({ type: "tool_call_delta", index: call.index, argumentsDelta: call.function.arguments });
    }
    if (choice.finish_reason) this.#finishReason = FINISH[choice.finish_reason] ?? "stop";
    return events;
  }

  finish(): Extract<ChatEvent, { type: "done" }> {
    return { type: "done", finishReason: this.#finishReason, usage: { ...this.#usage }, ...(this.#usageReported ? {} : { usageUnreported: true as const }) };
  }
}
