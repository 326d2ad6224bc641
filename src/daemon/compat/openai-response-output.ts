/**
 * A core generation → an OpenAI Responses API `Response` object. Pure (no I/O): `toResponse` builds the JSON answer,
 * and the pieces here (the response around the output, its items, its usage) are shared with the stream of events
 * (`openai-response-stream.ts`). The request side is `openai-responses.ts`. Shapes are the `openai` SDK's types.
 */
import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseReasoningItem,
  ResponseStatus,
  ResponseUsage,
} from "openai/resources/responses/responses";
import type { ChatResult, FinishReason, ToolCall, Usage } from "../core/chat.js";

/**
 * A Response as it goes on the wire: without `output_text`, which is not part of OpenAI's wire format (the SDKs add
 * it from `output`), and with `store`, which OpenAI sends and the SDK's type leaves out.
 */
export type WireResponse = Omit<Response, "output_text"> & { store: boolean };

/** The fields of a Response that repeat the request, as the request translator read them. */
export type ResponseEcho = Pick<
  WireResponse,
  "instructions" | "max_output_tokens" | "metadata" | "parallel_tool_calls" | "reasoning" | "temperature" | "text" | "tool_choice" | "tools" | "top_p" | "truncation"
>;

/** Identity of one response: every stream event that carries the response repeats it. */
export interface ResponseMeta {
  /** `resp_…` */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The model name as the caller gave it. */
  model: string;
  echo: ResponseEcho;
}

export type ItemStatus = "completed" | "incomplete" | "in_progress";

/** A response cut short by its token limit is incomplete; any other end is completed (a client gone reads nothing). */
export const isIncomplete = (reason: FinishReason) => reason === "length";

/**
 * An output item's id, from the response's: unique (a response id is random) and needing no randomness here, so
 * these translators stay pure. `msg_…`, `fc_…`, `rs_…` as OpenAI's.
 */
export function itemId(meta: Pick<ResponseMeta, "id">, prefix: "msg" | "fc" | "rs", outputIndex: number): string {
  return `${prefix}_${meta.id.replace(/^resp_/, "")}_${outputIndex}`;
}

/** The response around `output`: status, errors, the caller's model and the request's echo. */
export function toWireResponse(meta: ResponseMeta, status: ResponseStatus, output: ResponseOutputItem[], usage?: Usage): WireResponse {
  return {
    id: meta.id,
    object: "response",
    created_at: meta.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    model: meta.model,
    output,
    previous_response_id: null,
    // mlxm keeps nothing: whatever the request said, this response cannot be retrieved later.
    store: false,
    ...meta.echo,
    ...(usage ? { usage: toResponseUsage(usage) } : {}),
  };
}

/**
 * OpenAI's usage: `input_tokens` is the whole prompt, `cached_tokens` the part reused from a cache (the engine's
 * prompt-prefix reuse); mlxm writes no explicit cache entries. `reasoning_tokens` is 0 when the backend did not say.
 */
export function toResponseUsage(u: Usage): ResponseUsage {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: { cached_tokens: u.cachedInputTokens ?? 0, cache_write_tokens: 0 },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

/** Logprobs are not supported, so every text part has none, and no annotations (mlxm runs no search tools). */
export const outputText = (text: string): ResponseOutputText => ({ type: "output_text", text, annotations: [], logprobs: [] });

export function messageItem(id: string, status: ItemStatus, content: ResponseOutputText[]): ResponseOutputMessage {
  return { id, type: "message", status, role: "assistant", content };
}

export function functionCallItem(id: string, status: ItemStatus, call: ToolCall): ResponseFunctionToolCall {
  return { id, type: "function_call", status, call_id: call.id, name: call.name, arguments: call.arguments };
}

/** The reasoning text as it is (the model's own words); there is no summary, and nothing is encrypted. */
export function reasoningItem(id: string, status: ItemStatus, text: string | undefined): ResponseReasoningItem {
  return { id, type: "reasoning", status, summary: [], content: text === undefined ? [] : [{ type: "reasoning_text", text }] };
}

/**
 * The non-streamed answer: a reasoning item when the model reasoned, a message with the text, a function_call item
 * per tool call. A message with empty text only when there is nothing else, so a client always finds an answer; an
 * answer cut short by max_output_tokens is `incomplete`, and so is its last item.
 */
export function toResponse(result: ChatResult, meta: ResponseMeta): WireResponse {
  const incomplete = isIncomplete(result.finishReason);
  const output: ResponseOutputItem[] = [];
  if (result.reasoning) output.push(reasoningItem(itemId(meta, "rs", output.length), "completed", result.reasoning));
  if (result.text || (!output.length && !result.toolCalls.length)) {
    output.push(messageItem(itemId(meta, "msg", output.length), "completed", [outputText(result.text)]));
  }
  for (const call of result.toolCalls) output.push(functionCallItem(itemId(meta, "fc", output.length), "completed", call));
  if (incomplete) (output.at(-1) as { status: ItemStatus }).status = "incomplete";
  return toWireResponse(meta, incomplete ? "incomplete" : "completed", output, result.usage);
}
