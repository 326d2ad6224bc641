/**
 * Sends a pass-through call upstream and returns the raw response, through the same shared SDK clients the core path
 * uses (`client.post(...).asResponse()`): auth headers, base URL, timeout and the SDKs' bounded retries with backoff
 * honouring `retry-after` all apply, but the SDK neither parses the body nor wraps the stream (its instrumentation
 * hooks `create()`, not `post()`). Measured against plain `fetch` in bench/routing-overhead.ts: see the README there.
 * A non-2xx answer throws the SDK's APIError, which `toUpstreamError` maps exactly as on the core path.
 */
import type { WireCall } from "./forward-call.js";
import { anthropicClient, openAIClient, type UpstreamClientOptions } from "./upstream-clients.js";

/** The body sent upstream: the caller's, with the upstream model name and (OpenAI streams) usage requested. */
export function upstreamBody(call: WireCall, upstreamModel: string): Record<string, unknown> {
  const body: Record<string, unknown> = { ...call.body, model: upstreamModel };
  if (call.api === "openai" && call.stream && !call.includeUsage) {
    const options = call.body.stream_options;
    body.stream_options = { ...(options && typeof options === "object" ? options : {}), include_usage: true };
  }
  return body;
}

export function sendForward(options: UpstreamClientOptions, call: WireCall, upstreamModel: string, signal: AbortSignal): Promise<Response> {
  const body = upstreamBody(call, upstreamModel);
  if (call.api === "anthropic") {
    return anthropicClient(options).post(`/v1/${call.endpoint}`, { body, signal, ...(call.headers ? { headers: call.headers } : {}) }).asResponse();
  }
  return openAIClient(options).post(`/${call.endpoint}`, { body, signal }).asResponse();
}
