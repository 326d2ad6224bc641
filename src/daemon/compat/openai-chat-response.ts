/**
 * The core chat model → OpenAI Chat Completions: `toChatCompletion` and `toChatCompletionChunks` turn a generation
 * into OpenAI's JSON and SSE chunks. Pure (no I/O); the request's side is `openai-chat.ts`.
 */
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ChatEvent, ChatResult, FinishReason, Usage } from "../core/chat.js";

/** Identity of one response: every chunk of a stream repeats it. */
export interface CompletionMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model name as the caller gave it. */
  model: string;
}

type OpenAIFinishReason = "stop" | "length" | "tool_calls";

/** A client that went away gets no answer, and an engine error is reported separately, so both read as "stop". */
export function toFinishReason(reason: FinishReason): OpenAIFinishReason {
  return reason === "length" || reason === "tool_calls" ? reason : "stop";
}

/** OpenAI's usage; `prompt_tokens_details.cached_tokens` when the backend said how many input tokens it reused. */
export const toUsage = (u: Usage) => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
  ...(u.cachedInputTokens !== undefined ? { prompt_tokens_details: { cached_tokens: u.cachedInputTokens } } : {}),
});

/** The non-streamed answer. */
export function toChatCompletion(result: ChatResult, meta: CompletionMeta): ChatCompletion {
  const toolCalls = result.toolCalls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } }));
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // OpenAI sends null content beside tool calls when the model said nothing else.
          content: toolCalls.length && result.text === "" ? null : result.text,
          refusal: null,
          // Not in OpenAI's types: the field DeepSeek, vLLM and llama.cpp's server use for a reasoning model's thoughts.
          ...(result.reasoning ? { reasoning_content: result.reasoning } : {}),
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toFinishReason(result.finishReason),
      },
    ],
    usage: toUsage(result.usage),
  };
}

/**
 * Stream events → OpenAI chunks: a first chunk with the role, one per text piece or tool-call piece (the first piece
 * of a call carries index, id, type, name and empty arguments; later pieces carry arguments only), a last chunk with
 * `finish_reason`, and with `include_usage` one more chunk with empty `choices` and the usage (every earlier chunk then
 * has `usage: null`, as OpenAI sends).
 * The role chunk of a text turn has `content: ""`, as OpenAI's. When a tool call may come (`mayCallTools`) it waits for
 * the first output instead: a tool-call turn then starts as OpenAI's does, role and first call in one chunk with
 * `content: null`, never an empty content delta a client could take for the start of a text answer.
 */
export async function* toChatCompletionChunks(
  events: AsyncIterable<ChatEvent>,
  meta: CompletionMeta,
  options: { includeUsage?: boolean; mayCallTools?: boolean } = {},
): AsyncGenerator<ChatCompletionChunk> {
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: OpenAIFinishReason | null = null): ChatCompletionChunk => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(options.includeUsage ? { usage: null } : {}),
  });
  const callStart = (ev: Extract<ChatEvent, { type: "tool_call_start" }>): ChatCompletionChunk.Choice.Delta.ToolCall => ({
    index: ev.index,
    id: ev.id,
    type: "function",
    function: { name: ev.name, arguments: "" },
  });
  let roleSent = !options.mayCallTools;
  if (roleSent) yield chunk({ role: "assistant", content: "" });
  for await (const ev of events) {
    if (!roleSent && ev.type !== "start") {
      roleSent = true;
      if (ev.type === "tool_call_start") {
        yield chunk({ role: "assistant", content: null, tool_calls: [callStart(ev)] });
        continue;
      }
      yield chunk({ role: "assistant", content: ev.type === "text" ? "" : null });
    }
    switch (ev.type) {
      case "text":
        if (ev.text) yield chunk({ content: ev.text });
        break;
      case "reasoning":
        if (ev.text) yield chunk({ reasoning_content: ev.text } as ChatCompletionChunk.Choice.Delta);
        break;
      case "tool_call_start":
        yield chunk({ tool_calls: [callStart(ev)] });
        break;
      case "tool_call_delta":
        if (ev.argumentsDelta) yield chunk({ tool_calls: [{ index: ev.index, function: { arguments: ev.argumentsDelta } }] });
        break;
      case "done":
        yield chunk({}, toFinishReason(ev.finishReason));
        if (options.includeUsage) {
          yield { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, choices: [], usage: toUsage(ev.usage) };
        }
        return;
    }
  }
}
