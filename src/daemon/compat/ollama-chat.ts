/**
 * Ollama `/api/chat` ⇄ the core chat model. Pure translators: `fromOllamaChatRequest` validates a body and says
 * what to do (generate, or just load/unload the model when there are no messages); `toOllamaChatChunks` and
 * `toOllamaChatResponse` turn a generation back into Ollama's NDJSON lines or one JSON object.
 */
import type { z } from "zod";
import * as native from "../../protocol/chat.js";
import type { ChatEvent, ChatMessage, ChatRequest, ChatResult, ContentPart, ToolCall, ToolDefinition } from "../core/chat.js";
import { fromParts } from "../core/message-parts.js";
import { badRequest } from "../errors.js";
import { fromBase64Image } from "./media.js";
import { fromKeepAlive, fromOllamaFormat, fromOllamaOptions, fromThink, systemClock, toDoneReason, toOllamaMetrics, type Clock } from "./ollama-options.js";
import { parseBody } from "./parse.js";

/** What a native request asks for: a generation, or only loading or unloading the model (Ollama's empty request). */
export type OllamaIntent<R> =
  | { kind: "generate"; request: R; stream: boolean }
  | { kind: "load"; model: string; keepAliveMs?: number; stream: boolean }
  | { kind: "unload"; model: string; stream: boolean };

type NativeMessage = z.output<typeof native.Message>;

/**
 * A message's text and base64 images (typed by their first bytes) as core content. The images go first, as Ollama
 * itself puts them before the text in the prompt.
 */
export function withImages(text: string, images: string[] | null | undefined, param: string): Pick<ChatMessage, "content" | "parts"> {
  if (!images?.length) return { content: text };
  const parts: ContentPart[] = images.map((data, j) => ({ type: "image", source: fromBase64Image(data, `${param}[${j}]`) }));
  if (text) parts.push({ type: "text", text });
  return fromParts(parts);
}

function fromMessages(messages: NativeMessage[]): ChatMessage[] {
  const calls: { id: string; name: string; answered: boolean }[] = [];
  return messages.map((m, i): ChatMessage => {
    if (m.images?.length && m.role !== "user" && m.role !== "tool") throw badRequest(`images are only taken in user and tool messages, not ${m.role} ones`, `messages[${i}].images`);
    if (m.role === "assistant" && m.tool_calls?.length) {
      const toolCalls: ToolCall[] = m.tool_calls.map((c, j) => ({
        // Ollama before 0.12 sent no call ids; make stable ones so the tool results can point at them.
        id: c.id ?? `call_${i}_${j}`,
        name: c.function.name,
        arguments: JSON.stringify(c.function.arguments),
      }));
      for (const c of toolCalls) calls.push({ id: c.id, name: c.name, answered: false });
      return { role: "assistant", content: m.content, toolCalls };
    }
    if (m.role === "tool") {
      // Ollama names the tool, not the call: answer the earliest unanswered call of that name.
      const call = m.tool_call_id
        ? calls.find((c) => c.id === m.tool_call_id)
        : (calls.find((c) => !c.answered && (!m.tool_name || c.name === m.tool_name)) ?? calls.findLast((c) => c.name === m.tool_name));
      if (call) call.answered = true;
      const name = m.tool_name ?? call?.name;
      const id = m.tool_call_id ?? call?.id;
      return { role: "tool", ...withImages(m.content, m.images, `messages[${i}].images`), ...(id ? { toolCallId: id } : {}), ...(name ? { name } : {}) };
    }
    return { role: m.role, ...withImages(m.content, m.images, `messages[${i}].images`) };
  });
}

export function fromOllamaTools(tools: z.output<typeof native.Tool>[] | null | undefined): ToolDefinition[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t) => ({
    name: t.function.name,
    ...(t.function.description ? { description: t.function.description } : {}),
    parameters: t.function.parameters ?? { type: "object", properties: {} },
  }));
}

/** Validate an `/api/chat` body and translate it. No messages: only load the model (or unload it with keep_alive 0). */
export function fromOllamaChatRequest(body: unknown): OllamaIntent<ChatRequest> {
  const b = parseBody(native.ChatRequest, body);
  const reasoning = fromThink(b.think);
  const keepAliveMs = fromKeepAlive(b.keep_alive);
  if (b.messages.length === 0) {
    return keepAliveMs === 0
      ? { kind: "unload", model: b.model, stream: b.stream }
      : { kind: "load", model: b.model, stream: b.stream, ...(keepAliveMs !== undefined ? { keepAliveMs } : {}) };
  }
  const request: ChatRequest = { model: b.model, messages: fromMessages(b.messages), sampling: fromOllamaOptions(b.options) };
  const tools = fromOllamaTools(b.tools);
  if (tools) {
    request.tools = tools;
    request.toolChoice = { type: "auto" };
  }
  const responseFormat = fromOllamaFormat(b.format);
  if (responseFormat) request.responseFormat = responseFormat;
  if (keepAliveMs !== undefined) request.keepAliveMs = keepAliveMs;
  if (reasoning) request.reasoning = reasoning;
  return { kind: "generate", request, stream: b.stream };
}

/** Ollama's tool call: arguments as an object. Arguments cut short (finish "length") are not JSON: they become {}. */
export function toOllamaToolCall(call: ToolCall, index: number): native.ToolCall {
  let args: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(call.arguments);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) args = parsed as Record<string, unknown>;
  } catch {
    // Left as {}: Ollama's type has no place for text that is not an object.
  }
  return { id: call.id, function: { index, name: call.name, arguments: args } };
}

export interface OllamaMeta {
  model: string;
  /** Epoch ms when the request arrived, for `total_duration`. */
  startMs: number;
  clock?: Clock;
}

/** The answer to a request with no messages: Ollama's `done_reason` "load" or "unload". */
export function toOllamaChatLoadResponse(model: string, reason: "load" | "unload", clock: Clock = systemClock): native.ChatResponse {
  return { model, created_at: new Date(clock.now()).toISOString(), message: { role: "assistant", content: "" }, done: true, done_reason: reason };
}

/**
 * Stream events → Ollama chat lines. Text streams as it comes; a tool call is sent whole once its arguments are
 * complete (Ollama's clients expect parsed arguments); the last line carries done_reason and the metrics.
 */
export async function* toOllamaChatChunks(events: AsyncIterable<ChatEvent>, meta: OllamaMeta): AsyncGenerator<native.ChatResponse> {
  const clock = meta.clock ?? systemClock;
  const line = (message: native.ChatResponse["message"]): native.ChatResponse => ({
    model: meta.model,
    created_at: new Date(clock.now()).toISOString(),
    message,
    done: false,
  });
  let pending: (ToolCall & { index: number }) | undefined;
  const flush = function* () {
    if (pending) yield line({ role: "assistant", content: "", tool_calls: [toOllamaToolCall(pending, pending.index)] });
    pending = undefined;
  };
  for await (const ev of events) {
    switch (ev.type) {
      case "text":
        if (ev.text) yield line({ role: "assistant", content: ev.text });
        break;
      case "reasoning":
        if (ev.text) yield line({ role: "assistant", content: "", thinking: ev.text });
        break;
      case "tool_call_start":
        yield* flush();
        pending = { index: ev.index, id: ev.id, name: ev.name, arguments: "" };
        break;
      case "tool_call_delta":
        if (pending) pending.arguments += ev.argumentsDelta;
        break;
      case "done":
        yield* flush();
        yield {
          model: meta.model,
          created_at: new Date(clock.now()).toISOString(),
          message: { role: "assistant", content: "" },
          done: true,
          done_reason: toDoneReason(ev.finishReason),
          ...toOllamaMetrics(ev.usage, ev.timings, clock.now() - meta.startMs),
        };
        return;
    }
  }
}

/** The non-streamed answer: the whole message, tool calls included, with the metrics. */
export function toOllamaChatResponse(result: ChatResult, meta: OllamaMeta): native.ChatResponse {
  const clock = meta.clock ?? systemClock;
  const message: native.ChatResponse["message"] = { role: "assistant", content: result.text };
  if (result.reasoning) message.thinking = result.reasoning;
  if (result.toolCalls.length) message.tool_calls = result.toolCalls.map(toOllamaToolCall);
  return {
    model: meta.model,
    created_at: new Date(clock.now()).toISOString(),
    message,
    done: true,
    done_reason: toDoneReason(result.finishReason),
    ...toOllamaMetrics(result.usage, result.timings, clock.now() - meta.startMs),
  };
}
