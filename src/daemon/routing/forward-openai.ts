/**
 * OpenAI's wire format passed through (chat completions and legacy completions, streamed or not): every event goes
 * on as the upstream sent it, except `model`, which becomes the name the caller asked for, and the usage the daemon
 * asked for on the caller's behalf, which is stripped when the caller did not ask for it. Usage, finish reasons and
 * the first output are reported to a `UsageSink` on the way. Pure (no I/O).
 */
import type { EventSourceMessage } from "./forward-sse.js";
import { sseFrame } from "./forward-sse.js";
import { FastChunkPath } from "./forward-fast-chunk.js";
import type { UsageSink } from "./forward-meter.js";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface OpenAIChoice {
  finish_reason?: string | null;
  /** Chat chunks. */
  delta?: Record<string, unknown>;
  /** Legacy completions. */
  text?: string;
}

interface OpenAIPayload {
  model?: unknown;
  usage?: OpenAIUsage | null;
  choices?: OpenAIChoice[];
  error?: { message?: unknown };
}

export class OpenAIForwardRewriter {
  readonly #fast: FastChunkPath;
  /** The first output was reported: from here on a chunk needs parsing only for what `FastChunkPath` can't rule out. */
  #sawOutput = false;

  constructor(
    private readonly clientModel: string,
    /** Strip the usage the daemon added (`stream_options.include_usage` the caller did not send). */
    private readonly stripUsage: boolean,
    private readonly sink: UsageSink,
    private readonly scrub: (text: string) => string,
  ) {
    this.#fast = new FastChunkPath(clientModel, stripUsage);
  }

  /** One upstream event as the caller's frame; "" drops it. */
  frame(event: EventSourceMessage): string {
    if (this.#sawOutput) {
      const fast = this.#fast.rewrite(event.data);
      if (fast !== undefined) return sseFrame(event, fast);
    }
    if (event.data === "[DONE]") return sseFrame(event, event.data);
    let chunk: OpenAIPayload;
    try {
      chunk = JSON.parse(event.data) as OpenAIPayload;
    } catch {
      // Not JSON: nothing of ours to rewrite or read; the caller's client decides what it means.
      return sseFrame(event, this.scrub(event.data));
    }
    if (chunk === null || typeof chunk !== "object") return sseFrame(event, event.data);
    if (chunk.error) {
      const data = this.scrub(event.data);
      this.sink.failed(errorMessage(JSON.parse(data) as OpenAIPayload));
      return sseFrame(event, data);
    }
    this.#observe(chunk, true);
    if (!this.#fast.learned) this.#fast.learn(event.data, chunk as Record<string, unknown>);
    let changed = this.#renameModel(chunk);
    if (this.stripUsage && "usage" in chunk) {
      // The usage-only chunk exists only because the daemon asked for it.
      if (chunk.usage && !chunk.choices?.length) return "";
      delete chunk.usage;
      changed = true;
    }
    return sseFrame(event, changed ? JSON.stringify(chunk) : event.data);
  }

  /** A non-streamed response as the caller gets it. */
  body(json: unknown): unknown {
    if (json === null || typeof json !== "object") return json;
    const response = json as OpenAIPayload;
    this.#observe(response, false);
    this.#renameModel(response);
    return response;
  }

  #observe(payload: OpenAIPayload, streamed: boolean): void {
    if (typeof payload.model === "string") this.sink.responseModel(payload.model);
    const usage = payload.usage;
    if (usage) this.sink.usage(usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens_details?.cached_tokens ?? undefined);
    for (const choice of payload.choices ?? []) {
      if (choice.finish_reason) this.sink.finishReason(choice.finish_reason);
      if (streamed && !this.#sawOutput && hasOutput(choice)) {
        this.#sawOutput = true;
        this.sink.output();
      }
    }
  }

  #renameModel(payload: OpenAIPayload): boolean {
    if (typeof payload.model !== "string" || payload.model === this.clientModel) return false;
    payload.model = this.clientModel;
    return true;
  }
}

/** A choice that carries output: text, a tool call, a refusal, reasoning (anything but the opening role). */
function hasOutput(choice: OpenAIChoice): boolean {
  if (choice.text) return true;
  const delta = choice.delta;
  if (!delta) return false;
  for (const key in delta) {
    if (key === "role") continue;
    const value = delta[key];
    if (value !== null && value !== undefined && value !== "") return true;
  }
  return false;
}

function errorMessage(payload: OpenAIPayload): string {
  const message = payload.error?.message;
  return typeof message === "string" ? message : "the upstream sent an error";
}
