/**
 * Core stream events → the Responses API's stream events. Pure (no I/O): `toResponseStreamEvents` is an async
 * generator over a generation's events, `toResponseErrorEvent` the in-band error for a failure after the first one.
 * Each event goes out as an SSE event named by its `type` and carries a `sequence_number` counting from 0. The JSON
 * answer and the pieces both share are `openai-response-output.ts`.
 */
import type {
  ResponseErrorEvent,
  ResponseOutputItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import type { ChatEvent, ToolCall } from "../core/chat.js";
import type { HttpError } from "../errors.js";
import { toOpenAIError } from "./openai-errors.js";
import {
  functionCallItem,
  isIncomplete,
  itemId,
  messageItem,
  outputText,
  reasoningItem,
  toWireResponse,
  type ItemStatus,
  type ResponseMeta,
  type WireResponse,
} from "./openai-response-output.js";

/** The SDK's event types, with the response they carry as it goes on the wire (see `WireResponse`). */
type OnTheWire<E> = E extends { response: unknown } ? Omit<E, "response"> & { response: WireResponse } : E;
export type ResponseEvent = OnTheWire<ResponseStreamEvent>;

/** A message or reasoning item being written: its text so far. */
interface OpenText {
  kind: "message" | "reasoning";
  index: number;
  id: string;
  text: string;
}

/** A function call being written. */
interface OpenCall {
  index: number;
  id: string;
  call: ToolCall;
}

/**
 * Stream events → the Responses API's sequence: `response.created` and `response.in_progress` (no output yet), then
 * per output item `response.output_item.added`, its content and `response.output_item.done`, and last
 * `response.completed` (or `response.incomplete` when cut by max_output_tokens) with the whole response and its
 * usage. Text becomes a message item (`content_part.added`, `output_text.delta`…, `output_text.done`,
 * `content_part.done`), reasoning a reasoning item (the same with `reasoning_text`), each tool call a function_call
 * item whose arguments stream as `function_call_arguments.delta` and `.done`. Calls stay open until something else
 * starts or the generation ends, so arguments of several calls may interleave.
 */
export async function* toResponseStreamEvents(events: AsyncIterable<ChatEvent>, meta: ResponseMeta): AsyncGenerator<ResponseEvent> {
  let sequence = 0;
  const seq = () => sequence++;
  /** Every item started so far, by output index, as last sent. */
  const output: ResponseOutputItem[] = [];
  let text: OpenText | undefined;
  const calls = new Map<number, OpenCall>();

  yield { type: "response.created", response: toWireResponse(meta, "in_progress", []), sequence_number: seq() };
  yield { type: "response.in_progress", response: toWireResponse(meta, "in_progress", []), sequence_number: seq() };

  function* openText(kind: OpenText["kind"]): Generator<ResponseEvent> {
    yield* closeAll(() => "completed");
    const index = output.length;
    const id = itemId(meta, kind === "message" ? "msg" : "rs", index);
    text = { kind, index, id, text: "" };
    const item = kind === "message" ? messageItem(id, "in_progress", []) : reasoningItem(id, "in_progress", undefined);
    output.push(item);
    yield { type: "response.output_item.added", output_index: index, item, sequence_number: seq() };
    const part = kind === "message" ? outputText("") : { type: "reasoning_text" as const, text: "" };
    yield { type: "response.content_part.added", item_id: id, output_index: index, content_index: 0, part, sequence_number: seq() };
  }

  function* closeText(status: ItemStatus): Generator<ResponseEvent> {
    if (!text) return;
    const { kind, index, id, text: full } = text;
    text = undefined;
    const at = { item_id: id, output_index: index, content_index: 0 };
    if (kind === "message") {
      yield { type: "response.output_text.done", ...at, text: full, logprobs: [], sequence_number: seq() };
      yield { type: "response.content_part.done", ...at, part: outputText(full), sequence_number: seq() };
      output[index] = messageItem(id, status, [outputText(full)]);
    } else {
      yield { type: "response.reasoning_text.done", ...at, text: full, sequence_number: seq() };
      yield { type: "response.content_part.done", ...at, part: { type: "reasoning_text", text: full }, sequence_number: seq() };
      output[index] = reasoningItem(id, status, full);
    }
    yield { type: "response.output_item.done", output_index: index, item: output[index]!, sequence_number: seq() };
  }

  function* closeCalls(statusOf: (index: number) => ItemStatus): Generator<ResponseEvent> {
    for (const { index, id, call } of calls.values()) {
      const at = { item_id: id, output_index: index };
      yield { type: "response.function_call_arguments.done", ...at, name: call.name, arguments: call.arguments, sequence_number: seq() };
      output[index] = functionCallItem(id, statusOf(index), call);
      yield { type: "response.output_item.done", output_index: index, item: output[index]!, sequence_number: seq() };
    }
    calls.clear();
  }

  function* closeAll(statusOf: (index: number) => ItemStatus): Generator<ResponseEvent> {
    if (text) yield* closeText(statusOf(text.index));
    yield* closeCalls(statusOf);
  }

  for await (const ev of events) {
    switch (ev.type) {
      case "start":
        break;
      case "text":
      case "reasoning": {
        if (!ev.text) break;
        const kind = ev.type === "text" ? "message" : "reasoning";
        if (text?.kind !== kind || calls.size) yield* openText(kind);
        text!.text += ev.text;
        const at = { item_id: text!.id, output_index: text!.index, content_index: 0 };
        if (kind === "message") yield { type: "response.output_text.delta", ...at, delta: ev.text, logprobs: [], sequence_number: seq() };
        else yield { type: "response.reasoning_text.delta", ...at, delta: ev.text, sequence_number: seq() };
        break;
      }
      case "tool_call_start": {
        yield* closeText("completed");
        const index = output.length;
        const open: OpenCall = { index, id: itemId(meta, "fc", index), call: { id: ev.id, name: ev.name, arguments: "" } };
        calls.set(ev.index, open);
        output.push(functionCallItem(open.id, "in_progress", open.call));
        yield { type: "response.output_item.added", output_index: index, item: functionCallItem(open.id, "in_progress", open.call), sequence_number: seq() };
        break;
      }
      case "tool_call_delta": {
        const open = calls.get(ev.index);
        if (!open || !ev.argumentsDelta) break;
        open.call.arguments += ev.argumentsDelta;
        yield { type: "response.function_call_arguments.delta", item_id: open.id, output_index: open.index, delta: ev.argumentsDelta, sequence_number: seq() };
        break;
      }
      case "done": {
        const incomplete = isIncomplete(ev.finishReason);
        // What was being written when the token limit struck is what was cut short.
        const last = output.length - 1;
        yield* closeAll((index) => (incomplete && index === last ? "incomplete" : "completed"));
        if (!output.length) {
          // Nothing generated at all: an empty message, as the JSON answer has, so a client always finds one.
          yield* openText("message");
          yield* closeText(incomplete ? "incomplete" : "completed");
        }
        const response = toWireResponse(meta, incomplete ? "incomplete" : "completed", [...output], ev.usage);
        if (incomplete) yield { type: "response.incomplete", response, sequence_number: seq() };
        else yield { type: "response.completed", response, sequence_number: seq() };
        return;
      }
    }
  }
}

/** A failure after the stream began, as the Responses API's `error` event, numbered after the last event sent. */
export function toResponseErrorEvent(err: HttpError, sequenceNumber: number): ResponseErrorEvent {
  const { error } = toOpenAIError(err);
  // OpenAI leaves `code` null for some errors; the error's type still tells a client what kind of failure it was.
  return { type: "error", code: error.code ?? error.type, message: error.message, param: error.param, sequence_number: sequenceNumber };
}
