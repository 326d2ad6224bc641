/**
 * Ollama `/api/generate` ⇄ the core. Pure translators. A templated prompt (the default) becomes a one-turn chat
 * with the optional system message; `raw: true` becomes a raw-prompt completion; a `suffix` becomes a
 * fill-in-the-middle completion (the prompt is the text before the gap). An empty prompt only loads the model, or
 * unloads it with `keep_alive: 0`, which is how `ollama stop` works.
 */
import * as native from "../../protocol/chat.js";
import type { ChatEvent, ChatRequest, ChatResult, CompletionRequest } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { withImages, type OllamaIntent, type OllamaMeta } from "./ollama-chat.js";
import { fromKeepAlive, fromOllamaFormat, fromOllamaOptions, fromThink, systemClock, toDoneReason, toOllamaMetrics, type Clock } from "./ollama-options.js";
import { parseBody } from "./parse.js";

export type GenerateIntent = OllamaIntent<{ kind: "chat"; chat: ChatRequest } | { kind: "complete"; completion: CompletionRequest }>;

export function fromOllamaGenerateRequest(body: unknown): GenerateIntent {
  const b = parseBody(native.GenerateRequest, body);
  const reasoning = fromThink(b.think);
  if (b.template) throw badRequest("template overrides are not supported: the model's own chat template is used", "template");
  if (b.context?.length) throw badRequest("context is not supported: send the conversation to /api/chat instead", "context");
  const keepAliveMs = fromKeepAlive(b.keep_alive);
  // A suffix with an empty prompt is a gap at the very start of a file, not a load request (Ollama loads then).
  if (b.prompt === "" && !b.suffix) {
    return keepAliveMs === 0
      ? { kind: "unload", model: b.model, stream: b.stream }
      : { kind: "load", model: b.model, stream: b.stream, ...(keepAliveMs !== undefined ? { keepAliveMs } : {}) };
  }
  const sampling = fromOllamaOptions(b.options);
  const responseFormat = fromOllamaFormat(b.format);
  const extras = { ...(responseFormat ? { responseFormat } : {}), ...(keepAliveMs !== undefined ? { keepAliveMs } : {}) };
  if (b.suffix) {
    // Fill-in-the-middle never uses the chat template (Ollama renders it through the template's .Suffix branch, which
    // takes no system message or thinking), so `raw` changes nothing here; Ollama drops the suffix under `raw`.
    if (b.system) throw badRequest("system cannot be combined with suffix: fill-in-the-middle has no chat template to put it in", "system");
    if (reasoning?.enabled) throw badRequest("think cannot be combined with suffix: fill-in-the-middle has no reasoning section", "think");
    if (b.images?.length) throw badRequest("images cannot be combined with suffix: fill-in-the-middle is text", "images");
    return { kind: "generate", stream: b.stream, request: { kind: "complete", completion: { model: b.model, prompt: b.prompt, suffix: b.suffix, sampling, ...extras } } };
  }
  if (b.raw) {
    if (b.system) throw badRequest("system cannot be combined with raw: a raw prompt is sent as is", "system");
    if (reasoning?.enabled) throw badRequest("think cannot be combined with raw: a raw prompt has no chat template", "think");
    if (b.images?.length) throw badRequest("images cannot be combined with raw: a raw prompt is text", "images");
    return { kind: "generate", stream: b.stream, request: { kind: "complete", completion: { model: b.model, prompt: b.prompt, sampling, ...extras } } };
  }
  const messages: ChatRequest["messages"] = [];
  if (b.system) messages.push({ role: "system", content: b.system });
  messages.push({ role: "user", ...withImages(b.prompt, b.images, "images") });
  const chat: ChatRequest = { model: b.model, messages, sampling, ...extras, ...(reasoning ? { reasoning } : {}) };
  return { kind: "generate", stream: b.stream, request: { kind: "chat", chat } };
}

export function toOllamaGenerateLoadResponse(model: string, reason: "load" | "unload", clock: Clock = systemClock): native.GenerateResponse {
  return { model, created_at: new Date(clock.now()).toISOString(), response: "", done: true, done_reason: reason };
}

/** Stream events → Ollama generate lines (`response` pieces, then the last line with metrics). */
export async function* toOllamaGenerateChunks(events: AsyncIterable<ChatEvent>, meta: OllamaMeta): AsyncGenerator<native.GenerateResponse> {
  const clock = meta.clock ?? systemClock;
  for await (const ev of events) {
    if (ev.type === "text" && ev.text) {
      yield { model: meta.model, created_at: new Date(clock.now()).toISOString(), response: ev.text, done: false };
    } else if (ev.type === "reasoning" && ev.text) {
      yield { model: meta.model, created_at: new Date(clock.now()).toISOString(), response: "", thinking: ev.text, done: false };
    } else if (ev.type === "done") {
      yield {
        model: meta.model,
        created_at: new Date(clock.now()).toISOString(),
        response: "",
        done: true,
        done_reason: toDoneReason(ev.finishReason),
        ...toOllamaMetrics(ev.usage, ev.timings, clock.now() - meta.startMs),
      };
      return;
    }
  }
}

export function toOllamaGenerateResponse(result: ChatResult, meta: OllamaMeta): native.GenerateResponse {
  const clock = meta.clock ?? systemClock;
  return {
    model: meta.model,
    created_at: new Date(clock.now()).toISOString(),
    response: result.text,
    ...(result.reasoning ? { thinking: result.reasoning } : {}),
    done: true,
    done_reason: toDoneReason(result.finishReason),
    ...toOllamaMetrics(result.usage, result.timings, clock.now() - meta.startMs),
  };
}
