/**
 * Same-protocol pass-through: a request the caller sent in OpenAI's or Anthropic's wire format, served by an upstream
 * that speaks the same format, is forwarded as sent (only `model` rewritten) rather than translated through the core
 * chat model. Every field the upstream supports survives (`logprobs`, `n`, `seed`, `cache_control`, …), and the
 * daemon spends far less CPU per streamed chunk. These are the shapes the HTTP layer and the router exchange.
 */
import type { Provider } from "../../protocol/routes.js";

export type WireApi = "openai" | "anthropic";

/** A generation request in the caller's own wire format, as the HTTP layer received it. */
export interface WireCall {
  api: WireApi;
  /** The endpoint under the upstream's API root. */
  endpoint: "chat/completions" | "completions" | "messages" | "messages/count_tokens";
  /** The parsed JSON body, passed on unchanged but for `model` (and OpenAI's `stream_options`, see below). */
  body: Record<string, unknown>;
  /** The name the caller asked for; responses carry it back in place of the upstream's name. */
  model: string;
  stream: boolean;
  /** OpenAI: the caller asked for `stream_options.include_usage`. Usage is always requested upstream (it is what the
   * usage row and the span need) and stripped from the caller's stream when it did not ask. */
  includeUsage: boolean;
  /** Request headers worth passing on (Anthropic's `anthropic-beta`). */
  headers?: Record<string, string>;
}

/** What a forwarded call gives the HTTP layer: a JSON body, or SSE frames ready for the wire. */
export type Forwarded = { kind: "json"; body: unknown } | { kind: "sse"; frames: AsyncIterable<string> };

/** Whether a `provider` route speaks the caller's wire format for this endpoint. */
export function forwards(call: Pick<WireCall, "api" | "endpoint">, provider: Provider): boolean {
  if (call.api === "anthropic") return provider === "anthropic";
  return provider === "openai" || provider === "openai-compatible" || provider === "mlxm";
}
