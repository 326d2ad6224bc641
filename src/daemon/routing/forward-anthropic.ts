/**
 * Anthropic's Messages wire format passed through, streamed or not: events go on byte for byte except
 * `message_start`, whose `message.model` becomes the name the caller asked for (a non-streamed message likewise).
 * Usage (the whole prompt: Anthropic counts cached tokens apart, the usage row counts them in), stop reasons and the
 * first output are reported to a `UsageSink` on the way. Pure (no I/O).
 */
import type { EventSourceMessage } from "./forward-sse.js";
import { sseFrame } from "./forward-sse.js";
import type { UsageSink } from "./forward-meter.js";

interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

interface AnthropicMessage {
  model?: unknown;
  usage?: AnthropicUsage;
  stop_reason?: string | null;
  content?: unknown[];
}

export class AnthropicForwardRewriter {
  constructor(
    private readonly clientModel: string,
    private readonly sink: UsageSink,
    private readonly scrub: (text: string) => string,
  ) {}

  /** One upstream event as the caller's frame. */
  frame(event: EventSourceMessage): string {
    switch (event.event) {
      case "message_start": {
        const start = parse<{ message?: AnthropicMessage }>(event.data);
        if (!start?.message) return sseFrame(event, event.data);
        this.#usage(start.message.usage);
        return sseFrame(event, this.#renameModel(start.message) ? JSON.stringify(start) : event.data);
      }
      case "content_block_start":
      case "content_block_delta":
        this.sink.output();
        return sseFrame(event, event.data);
      case "message_delta": {
        const delta = parse<{ delta?: { stop_reason?: string | null }; usage?: AnthropicUsage }>(event.data);
        if (delta?.delta?.stop_reason) this.sink.finishReason(delta.delta.stop_reason);
        this.#usage(delta?.usage);
        return sseFrame(event, event.data);
      }
      case "error": {
        const data = this.scrub(event.data);
        const message = parse<{ error?: { message?: unknown } }>(data)?.error?.message;
        this.sink.failed(typeof message === "string" ? message : "the upstream sent an error");
        return sseFrame(event, data);
      }
      default:
        return sseFrame(event, event.data);
    }
  }

  /** A non-streamed message as the caller gets it. */
  body(json: unknown): unknown {
    if (json === null || typeof json !== "object") return json;
    const message = json as AnthropicMessage;
    this.#usage(message.usage);
    if (message.stop_reason) this.sink.finishReason(message.stop_reason);
    this.#renameModel(message);
    return message;
  }

  /** Later events may repeat the input counts (or send only output_tokens): absent fields keep earlier values. */
  #input: { plain?: number; read?: number; created?: number } = {};

  #usage(u: AnthropicUsage | undefined): void {
    if (!u) return;
    if (typeof u.input_tokens === "number") this.#input.plain = u.input_tokens;
    if (typeof u.cache_read_input_tokens === "number") this.#input.read = u.cache_read_input_tokens;
    if (typeof u.cache_creation_input_tokens === "number") this.#input.created = u.cache_creation_input_tokens;
    const { plain, read = 0, created = 0 } = this.#input;
    this.sink.usage(plain !== undefined ? plain + read + created : undefined, typeof u.output_tokens === "number" ? u.output_tokens : undefined, read, created);
  }

  #renameModel(message: AnthropicMessage): boolean {
    if (typeof message.model === "string") this.sink.responseModel(message.model);
    if (typeof message.model !== "string" || message.model === this.clientModel) return false;
    message.model = this.clientModel;
    return true;
  }
}

function parse<T>(data: string): T | undefined {
  try {
    const value = JSON.parse(data) as unknown;
    return value !== null && typeof value === "object" ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
