/**
 * A core generation → Anthropic Messages responses. Pure translators (no I/O): `toMessage` builds the JSON message,
 * `toMessageStreamEvents` its named SSE events. The request side is `anthropic-messages.ts`.
 */
import type { ChatEvent, ChatResult, FinishReason, Usage } from "../core/chat.js";

/** Identity of one response. */
export interface MessageMeta {
  /** `msg_…` */
  id: string;
  /** The model name as the caller gave it. */
  model: string;
}

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

/** Exactly one of Anthropic's four; a client that went away gets no answer, so "cancelled" reads as end_turn. */
export function toStopReason(reason: FinishReason, stopSequence: string | undefined): AnthropicStopReason {
  if (reason === "tool_calls") return "tool_use";
  if (reason === "length") return "max_tokens";
  return stopSequence !== undefined ? "stop_sequence" : "end_turn";
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * Anthropic counts cached prompt tokens apart: `input_tokens` + `cache_read_input_tokens` is the whole prompt.
 * mlxm writes no explicit cache entries, so `cache_creation_input_tokens` is always 0.
 */
export function toAnthropicUsage(u: Pick<Usage, "inputTokens" | "cachedInputTokens"> & { outputTokens?: number }): AnthropicUsage {
  const cached = u.cachedInputTokens ?? 0;
  return { input_tokens: u.inputTokens - cached, output_tokens: u.outputTokens ?? 0, cache_creation_input_tokens: 0, cache_read_input_tokens: cached };
}

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** Arguments as an object; arguments cut short (max_tokens) are not JSON and become {}. */
function toInput(args: string): unknown {
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return {};
  }
}

/**
 * mlxm cannot sign reasoning as Anthropic does; the field is required, so it is empty, and signatures sent back are
 * not checked.
 */
const NO_SIGNATURE = "";

/** The non-streamed answer: thinking, then text, then tool_use blocks. */
export function toMessage(result: ChatResult, meta: MessageMeta): AnthropicMessage {
  const content: AnthropicContentBlock[] = [];
  if (result.reasoning) content.push({ type: "thinking", thinking: result.reasoning, signature: NO_SIGNATURE });
  // Clients read content[0].text; an answer with nothing else still gets its (empty) text block.
  if (result.text || (!content.length && !result.toolCalls.length)) content.push({ type: "text", text: result.text });
  for (const call of result.toolCalls) content.push({ type: "tool_use", id: call.id, name: call.name, input: toInput(call.arguments) });
  return {
    id: meta.id,
    type: "message",
    role: "assistant",
    model: meta.model,
    content,
    stop_reason: toStopReason(result.finishReason, result.stopSequence),
    stop_sequence: result.stopSequence ?? null,
    usage: toAnthropicUsage(result.usage),
  };
}

/** Anthropic's stream events; each is sent as an SSE event named by its `type`. */
export type MessageStreamEvent =
  | { type: "message_start"; message: AnthropicMessage }
  | { type: "content_block_start"; index: number; content_block: AnthropicContentBlock }
  | { type: "ping" }
  | {
      type: "content_block_delta";
      index: number;
      delta:
        | { type: "text_delta"; text: string }
        | { type: "thinking_delta"; thinking: string }
        | { type: "signature_delta"; signature: string }
        | { type: "input_json_delta"; partial_json: string };
    }
  | { type: "content_block_stop"; index: number }
  | { type: "message_delta"; delta: { stop_reason: AnthropicStopReason; stop_sequence: string | null }; usage: AnthropicUsage }
  | { type: "message_stop" };

/**
 * Stream events → Anthropic's sequence: `message_start` (with the prompt's usage when the backend reported it in a
 * `start` event), then per content block `content_block_start`, its deltas and `content_block_stop` (one `ping` after
 * the first block starts, as Anthropic sends), then `message_delta` with the stop reason and the final usage, and
 * `message_stop`. Reasoning becomes thinking blocks, text text blocks, each tool call a tool_use block whose input
 * streams as `input_json_delta`.
 */
export async function* toMessageStreamEvents(events: AsyncIterable<ChatEvent>, meta: MessageMeta): AsyncGenerator<MessageStreamEvent> {
  let started = false;
  let pinged = false;
  let next = 0;
  let open: { index: number; kind: "text" | "thinking" | "tool"; tool?: number } | undefined;
  const toolBlocks = new Map<number, number>();

  const start = (usage: Pick<Usage, "inputTokens" | "cachedInputTokens">): MessageStreamEvent => {
    started = true;
    const message: AnthropicMessage = {
      id: meta.id,
      type: "message",
      role: "assistant",
      model: meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: toAnthropicUsage(usage),
    };
    return { type: "message_start", message };
  };
  function* close(): Generator<MessageStreamEvent> {
    if (open) yield { type: "content_block_stop", index: open.index };
    open = undefined;
  }
  function* openBlock(kind: "text" | "thinking" | "tool", block: AnthropicContentBlock, tool?: number): Generator<MessageStreamEvent> {
    yield* close();
    open = { index: next++, kind, ...(tool !== undefined ? { tool } : {}) };
    yield { type: "content_block_start", index: open.index, content_block: block };
    if (!pinged) {
      pinged = true;
      yield { type: "ping" };
    }
  }

  for await (const ev of events) {
    if (!started) {
      if (ev.type === "start") {
        yield start(ev);
        continue;
      }
      // A backend that reports no `start`: the prompt's size comes with message_delta.
      yield start({ inputTokens: 0 });
    }
    switch (ev.type) {
      case "start":
        break;
      case "text":
        if (!ev.text) break;
        if (open?.kind !== "text") yield* openBlock("text", { type: "text", text: "" });
        yield { type: "content_block_delta", index: open!.index, delta: { type: "text_delta", text: ev.text } };
        break;
      case "reasoning":
        if (!ev.text) break;
        if (open?.kind !== "thinking") yield* openBlock("thinking", { type: "thinking", thinking: "", signature: NO_SIGNATURE });
        yield { type: "content_block_delta", index: open!.index, delta: { type: "thinking_delta", thinking: ev.text } };
        break;
      case "tool_call_start":
        yield* openBlock("tool", { type: "tool_use", id: ev.id, name: ev.name, input: {} }, ev.index);
        toolBlocks.set(ev.index, open!.index);
        break;
      case "tool_call_delta": {
        const index = toolBlocks.get(ev.index);
        if (index !== undefined && ev.argumentsDelta) {
          yield { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: ev.argumentsDelta } };
        }
        break;
      }
      case "done":
        yield* close();
        if (!pinged) yield { type: "ping" };
        yield {
          type: "message_delta",
          delta: { stop_reason: toStopReason(ev.finishReason, ev.stopSequence), stop_sequence: ev.stopSequence ?? null },
          usage: toAnthropicUsage(ev.usage),
        };
        yield { type: "message_stop" };
        return;
    }
  }
}
