/**
 * Prompt and completion as span attributes in the OpenTelemetry GenAI shape (`gen_ai.system_instructions`,
 * `gen_ai.input.messages`, `gen_ai.output.messages`, JSON strings of role + parts), which Logfire and other GenAI
 * viewers render as a conversation. Only used with MLXM_TRACE_CONTENT=1; the redacting processor drops these
 * attributes otherwise, whoever sets them. Images and documents are recorded as placeholders (media type and size,
 * or the URL), never their bytes: a few of them would make a span megabytes of base64.
 */
import type { ChatEvent, ChatMessage, ChatRequest, CompletionRequest, FinishReason, MediaPart, ToolCall } from "../daemon/core/chat.js";
import { base64Bytes, mediaOf, partsOf } from "../daemon/core/message-parts.js";

type Part =
  | { type: "text"; content: string }
  /** GenAI's `uri` part: media the upstream fetches itself. */
  | { type: "uri"; modality: "image"; uri: string }
  /** In place of GenAI's `blob` part, whose `content` would be the bytes: what they were, without them. */
  | { type: "image" | "document"; mime_type: string; size_bytes: number; name?: string }
  | { type: "tool_call"; id: string; name: string; arguments: unknown }
  | { type: "tool_call_response"; id: string; response: string }
  /** Fill-in-the-middle: the text after the gap (a custom part type, as the conventions allow). */
  | { type: "suffix"; content: string };

interface GenAiMessage {
  role: string;
  parts: Part[];
  name?: string;
  finish_reason?: string;
}

/** The request's input: system turns become `gen_ai.system_instructions`, the rest `gen_ai.input.messages`. */
export function toInputContent(request: ChatRequest | CompletionRequest): Record<string, string> {
  if ("prompt" in request) {
    const parts: Part[] = [text(request.prompt)];
    if (request.suffix !== undefined) parts.push({ type: "suffix", content: request.suffix });
    return { "gen_ai.input.messages": JSON.stringify([{ role: "user", parts }]) };
  }
  const system = request.messages.filter((m) => m.role === "system");
  const rest = request.messages.filter((m) => m.role !== "system");
  return {
    ...(system.length ? { "gen_ai.system_instructions": JSON.stringify(system.map((m) => text(m.content))) } : {}),
    "gen_ai.input.messages": JSON.stringify(rest.map(toMessage)),
  };
}

/** The generated answer as `gen_ai.output.messages`: one assistant message with its text and tool calls. */
export function toOutputContent(textOut: string, toolCalls: ToolCall[], finishReason: FinishReason): Record<string, string> {
  const parts: Part[] = [];
  if (textOut) parts.push(text(textOut));
  for (const call of toolCalls) parts.push(toolCallPart(call));
  const message: GenAiMessage = { role: "assistant", parts, finish_reason: finishReason };
  return { "gen_ai.output.messages": JSON.stringify([message]) };
}

/** Accumulates streamed events into the text and tool calls `toOutputContent` needs. */
export class OutputRecorder {
  private textOut = "";
  private readonly calls = new Map<number, ToolCall>();

  add(event: ChatEvent): void {
    if (event.type === "text") this.textOut += event.text;
    else if (event.type === "tool_call_start") this.calls.set(event.index, { id: event.id, name: event.name, arguments: "" });
    else if (event.type === "tool_call_delta") {
      const call = this.calls.get(event.index);
      if (call) call.arguments += event.argumentsDelta;
    }
  }

  attributes(finishReason: FinishReason): Record<string, string> {
    return toOutputContent(this.textOut, [...this.calls.values()], finishReason);
  }
}

function toMessage(m: ChatMessage): GenAiMessage {
  if (m.role === "tool") {
    const response: Part = { type: "tool_call_response", id: m.toolCallId ?? "", response: m.content };
    return { role: "tool", parts: [response, ...mediaOf(m).map(mediaPart)], ...(m.name ? { name: m.name } : {}) };
  }
  const parts: Part[] = partsOf(m).map((p) => (p.type === "text" ? text(p.text) : mediaPart(p)));
  for (const call of m.toolCalls ?? []) parts.push(toolCallPart(call));
  return { role: m.role, parts };
}

function mediaPart(p: MediaPart): Part {
  if (p.source.kind === "url") return { type: "uri", modality: "image", uri: p.source.url };
  const name = p.type === "document" && p.name ? { name: p.name } : {};
  return { type: p.type, mime_type: p.source.mediaType, size_bytes: base64Bytes(p.source.data), ...name };
}

function toolCallPart(call: ToolCall): Part {
  return { type: "tool_call", id: call.id, name: call.name, arguments: parseJson(call.arguments) };
}

/** Arguments are JSON text; viewers show an object better, but a model's broken JSON is kept as the string. */
function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

const text = (content: string): Part => ({ type: "text", content });
