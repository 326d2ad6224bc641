/**
 * Client-side Anthropic translation: the internal chat model into an `@anthropic-ai/sdk` streaming Messages request,
 * and the SDK's stream events back into core events. Pure (no I/O). The server-side `/v1/messages` translators live
 * in `compat/anthropic-*.ts` and stay separate.
 */
import type {
  Base64ImageSource,
  ContentBlockParam,
  DocumentBlockParam,
  ImageBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  RawMessageStreamEvent,
  ToolChoice as AnthropicToolChoice,
} from "@anthropic-ai/sdk/resources/messages";
import type { ChatEvent, ChatMessage, ChatRequest, ContentPart, FinishReason, ToolChoice, Usage } from "../core/chat.js";
import { partsOf } from "../core/message-parts.js";
import { badRequest } from "../errors.js";
import { anthropicThinking } from "./reasoning-upstream.js";
import { refuseUnsupportedSampling } from "./upstream-sampling.js";

/** Anthropic requires max_tokens; this is what a request without one gets. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/** A core request as `messages.create` parameters (always streamed). System turns become the `system` field. */
export function toAnthropicUpstreamRequest(request: ChatRequest, upstreamModel: string): MessageCreateParamsStreaming {
  const s = request.sampling;
  // Seeds, frequency and presence penalties, min_p: the Messages API has none of them (upstream-sampling.ts).
  refuseUnsupportedSampling(s, "anthropic", upstreamModel);
  const system = request.messages.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
  const params: MessageCreateParamsStreaming = {
    model: upstreamModel,
    max_tokens: s.maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
    messages: toAnthropicMessages(request.messages.filter((m) => m.role !== "system"), request.messagesParam ?? "messages"),
    stream: true,
  };
  if (system) params.system = system;
  const thinking = anthropicThinking(request.reasoning, request.messages, s.maxTokens, DEFAULT_ANTHROPIC_MAX_TOKENS);
  if (thinking) {
    params.thinking = thinking.thinking;
    params.max_tokens = thinking.maxTokens;
  }
  // The Messages API takes temperature, top_p and top_k; this SDK version's types lack them, but it sends the body as
  // given, so they go in through a wider type rather than being dropped.
  const sampling = params as MessageCreateParamsStreaming & { temperature?: number; top_p?: number; top_k?: number };
  if (s.temperature !== undefined) sampling.temperature = s.temperature;
  if (s.topP !== undefined) sampling.top_p = s.topP;
  if (s.topK !== undefined) sampling.top_k = s.topK;
  if (s.stop?.length) params.stop_sequences = s.stop;
  // Tools go even with tool_choice "none": Anthropic refuses a history with tool_use or tool_result blocks unless
  // the request defines tools, and it takes {"type": "none"} itself.
  if (request.tools?.length) {
    params.tools = request.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      input_schema: { type: "object", ...t.parameters } as { type: "object" },
    }));
    const choice = request.toolChoice ?? (request.parallelToolCalls === false ? { type: "auto" as const } : undefined);
    if (choice) params.tool_choice = toAnthropicToolChoice(choice, request.parallelToolCalls === false);
  }
  // Structured output as Anthropic's Messages API takes it; never dropped (a caller asking for JSON would get prose).
  const format = request.responseFormat;
  if (format?.type === "json_schema") {
    (params as MessageCreateParamsStreaming & { output_config?: unknown }).output_config = { format: { type: "json_schema", schema: format.schema } };
  } else if (format?.type === "json_object") {
    throw badRequest("Anthropic has no schema-less JSON mode: give a JSON schema (response_format json_schema, or Ollama's format as a schema)", "response_format");
  }
  return params;
}

/**
 * Anthropic wants alternating user/assistant turns with tool results as user content blocks, so consecutive
 * messages of one side are merged into one turn.
 */
function toAnthropicMessages(messages: ChatMessage[], param: string): MessageParam[] {
  const out: MessageParam[] = [];
  for (const m of messages) {
    const role = m.role === "assistant" ? "assistant" : "user";
    const blocks: ContentBlockParam[] = [];
    if (m.role === "tool") {
      const content = m.parts ? m.parts.flatMap((p) => toAnthropicBlock(p, param)) : m.content;
      blocks.push({ type: "tool_result", tool_use_id: m.toolCallId ?? "", content });
    } else {
      blocks.push(...partsOf(m).flatMap((p) => toAnthropicBlock(p, param)));
      for (const c of m.toolCalls ?? []) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: parseArguments(c.arguments) });
    }
    const last = out.at(-1);
    if (last && last.role === role) (last.content as ContentBlockParam[]).push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/**
 * A content part as Anthropic blocks (none for empty text, which Anthropic refuses): images as base64 or `url`
 * sources, PDFs as base64 documents. OpenAI's `detail` has no Anthropic counterpart and is left out.
 */
function toAnthropicBlock(p: ContentPart, param: string): (ImageBlockParam | DocumentBlockParam | { type: "text"; text: string })[] {
  switch (p.type) {
    case "text":
      return p.text ? [{ type: "text", text: p.text }] : [];
    case "image": {
      if (p.source.kind === "url") return [{ type: "image", source: { type: "url", url: p.source.url } }];
      const { mediaType, data } = p.source;
      // Refused here, in the caller's protocol, rather than by Anthropic after the request was sent.
      if (!IMAGE_TYPES.has(mediaType)) throw badRequest(`Anthropic takes PNG, JPEG, GIF and WebP images, not "${mediaType}"`, param);
      return [{ type: "image", source: { type: "base64", media_type: mediaType as Base64ImageSource["media_type"], data } }];
    }
    case "document":
      return [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: p.source.data }, ...(p.name ? { title: p.name } : {}) }];
  }
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text || "{}");
  } catch {
    // Anthropic needs an object; keep what the model wrote rather than dropping it.
    return { arguments: text };
  }
}

/** `oneCall`: at most one call per turn (OpenAI `parallel_tool_calls: false`), which Anthropic says in the choice. */
function toAnthropicToolChoice(choice: ToolChoice, oneCall: boolean): AnthropicToolChoice {
  const parallel = oneCall ? { disable_parallel_tool_use: true } : {};
  switch (choice.type) {
    case "auto":
      return { type: "auto", ...parallel };
    case "required":
      return { type: "any", ...parallel };
    case "tool":
      return { type: "tool", name: choice.name, ...parallel };
    case "none":
      return { type: "none" };
  }
}

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  pause_turn: "stop",
  refusal: "stop",
};

/**
 * Turns Anthropic stream events into core events. Content blocks are numbered across text and tool use, core
 * tool-call indexes count tool calls only, so the decoder keeps the mapping; `finish()` gives the `done` event.
 */
export class AnthropicEventDecoder {
  #finishReason: FinishReason = "stop";
  #usage: Usage & { cachedInputTokens?: number; cacheCreationInputTokens?: number } = { inputTokens: 0, outputTokens: 0 };
  readonly #toolIndex = new Map<number, number>();
  responseModel: string | undefined;

  decode(event: RawMessageStreamEvent): ChatEvent[] {
    switch (event.type) {
      case "message_start": {
        const u = event.message.usage;
        this.responseModel = event.message.model;
        const cached = (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
        // Anthropic's input_tokens excludes cached ones; the core count is the whole prompt.
        this.#usage = { inputTokens: u.input_tokens + cached, outputTokens: u.output_tokens };
        if (u.cache_read_input_tokens) this.#usage.cachedInputTokens = u.cache_read_input_tokens;
        // Not in the core model: carried for the usage row and the price (writes cost more than plain input).
        if (u.cache_creation_input_tokens) this.#usage.cacheCreationInputTokens = u.cache_creation_input_tokens;
        return [];
      }
      case "content_block_start": {
        const block = event.content_block;
        if (block.type === "tool_use") {
          const index = this.#toolIndex.size;
          this.#toolIndex.set(event.index, index);
          return [{ type: "tool_call_start", index, id: block.id, name: block.name }];
        }
        if (block.type === "text" && block.text) return [{ type: "text", text: block.text }];
        if (block.type === "thinking" && block.thinking) return [{ type: "reasoning", text: block.thinking }];
        return [];
      }
      case "content_block_delta": {
        const d = event.delta;
        if (d.type === "text_delta") return d.text ? [{ type: "text", text: d.text }] : [];
        if (d.type === "thinking_delta") return d.thinking ? [{ type: "reasoning", text: d.thinking }] : [];
        if (d.type === "input_json_delta") {
          const index = this.#toolIndex.get(event.index);
          return index === undefined || !d.partial_json ? [] : [{ type: "tool_call_delta", index, argumentsDelta: d.partial_json }];
        }
        return [];
      }
      case "message_delta":
        if (event.delta.stop_reason) this.#finishReason = FINISH[event.delta.stop_reason] ?? "stop";
        if (event.usage?.output_tokens !== undefined && event.usage.output_tokens !== null) this.#usage.outputTokens = event.usage.output_tokens;
        return [];
      default:
        return [];
    }
  }

  finish(): Extract<ChatEvent, { type: "done" }> {
    return { type: "done", finishReason: this.#finishReason, usage: { ...this.#usage } };
  }
}
