/**
 * One same-protocol upstream serving a pass-through call: take a slot under the route's limits, send the caller's
 * body, and (streams) read up to the first event before anything reaches the caller, so a failure until then lets
 * the router fall back exactly as on the core path. From there on the call is committed: frames are relayed as the
 * upstream sends them and a later failure goes to the caller in-band, never to another backend.
 * The GenAI client span (child of the request span) carries what the SDK instrumentation would: system, request
 * and response model, usage, finish reasons, TTFT and cost. It is also the call's HTTP client span: the transport
 * adds the server's address and retries to it and sends it upstream as `traceparent` (forward-transport.ts).
 */
import { context, trace } from "@opentelemetry/api";
import { startDeferredSpan } from "../../observability/deferred-span.js";
import { GenAI, SpanKind } from "../../observability/spans.js";
import { HttpError } from "../errors.js";
import type { Served } from "./fallback.js";
import { AnthropicForwardRewriter } from "./forward-anthropic.js";
import type { Forwarded, WireCall } from "./forward-call.js";
import { ForwardMeter } from "./forward-meter.js";
import { OpenAIForwardRewriter } from "./forward-openai.js";
import { SseReader, type EventSourceMessage } from "./forward-sse.js";
import { readJson, sendForward } from "./forward-transport.js";
import { currentRecord } from "./request-record.js";
import { backendLabel, type Route } from "./route.js";
import type { RouteLimiter } from "./route-limiter.js";
import type { UpstreamClientOptions } from "./upstream-clients.js";
import { noEvents, scrubber, toUpstreamError, UpstreamError } from "./upstream-errors.js";

export interface ForwardDeps {
  limiter(route: Route): RouteLimiter;
  /** Throws (a retriable UpstreamError) when the route's key cannot be read. */
  clientOptions(route: Route): UpstreamClientOptions;
}

export async function startForward(deps: ForwardDeps, route: Route, model: string, call: WireCall, signal: AbortSignal, started: number): Promise<Served<Forwarded>> {
  const label = backendLabel(route, model);
  const system = route.provider === "anthropic" ? "anthropic" : "openai";
  const operation = call.endpoint === "completions" ? "text_completion" : "chat";
  const span = startDeferredSpan(
    `${operation} ${model}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [GenAI.OPERATION_NAME]: operation,
        [GenAI.PROVIDER_NAME]: system,
        "gen_ai.system": system,
        [GenAI.REQUEST_MODEL]: model,
        [GenAI.REQUEST_STREAM]: call.stream,
        "mlxm.route.pattern": route.pattern,
        "mlxm.backend": label,
        "mlxm.passthrough": true,
        ...requestAttributes(call.body),
      },
    },
    context.active(),
  );
  const meter = new ForwardMeter(span, currentRecord(), { provider: route.provider, model, baseUrl: route.baseUrl }, started);
  let release = () => {};
  let apiKey: string | undefined;
  try {
    release = deps.limiter(route).acquire();
    const options = deps.clientOptions(route);
    apiKey = options.apiKey;
    const scrub = scrubber(apiKey);
    const rewriter = call.api === "anthropic" ? new AnthropicForwardRewriter(call.model, meter, scrub) : new OpenAIForwardRewriter(call.model, !call.includeUsage, meter, scrub);
    const response = await context.with(trace.setSpan(context.active(), span), () => sendForward(options, call, model, label, signal));
    if (!call.stream) {
      // Read whole before answering: nothing has reached the caller, so a failure here may still fall back.
      const body = rewriter.body(await readJson(response));
      meter.end();
      release();
      return { label, result: { kind: "json", body } };
    }
    const type = String(response.headers["content-type"] ?? "");
    if (!/^text\/event-stream\b/i.test(type)) {
      // A JSON answer to a stream request (a server that ignores `stream`), an HTML page from a wrong base URL:
      // nothing reached the caller yet, so this is the upstream's failure, and a fallback may still serve.
      response.destroy();
      throw new UpstreamError("upstream_error", `upstream ${label} answered a stream request with ${type || "no content type"}, not an event stream`, true);
    }
    const reader = new SseReader(response);
    const first = await reader.read().catch((err: unknown) => {
      reader.close();
      throw err;
    });
    if (first === undefined) {
      reader.close();
      throw noEvents(label);
    }
    const frames = relay(first, reader, (event) => rewriter.frame(event), meter, release, signal, label, apiKey);
    return { label, result: { kind: "sse", frames } };
  } catch (err) {
    release();
    // Our own refusals (a route limit) keep their status; anything from the transport is the upstream's failure.
    const failure = err instanceof HttpError ? err : toUpstreamError(err, label, apiKey);
    meter.end(failure);
    throw failure;
  }
}

/**
 * A call the daemon only relays, whose small JSON answer is no generation (Anthropic's `count_tokens`): no slot, usage
 * row or GenAI span (the transport's HTTP client span still records it), and no fallback: another backend's count
 * would be another tokenizer's.
 */
export async function forwardJson(deps: ForwardDeps, route: Route, model: string, call: WireCall, signal: AbortSignal): Promise<unknown> {
  let apiKey: string | undefined;
  try {
    const options = deps.clientOptions(route);
    apiKey = options.apiKey;
    return await readJson(await sendForward(options, call, model, backendLabel(route, model), signal));
  } catch (err) {
    throw toUpstreamError(err, backendLabel(route, model), apiKey);
  }
}

/**
 * The caller's frames, one string per upstream read; ends the meter and frees the slot however the stream ends.
 * A plain iterator, not an async generator: one promise per read on the hot path.
 */
function relay(
  first: EventSourceMessage[] | undefined,
  reader: SseReader,
  frame: (event: EventSourceMessage) => string,
  meter: ForwardMeter,
  release: () => void,
  signal: AbortSignal,
  label: string,
  apiKey: string | undefined,
): AsyncIterableIterator<string> {
  let pending = true;
  let ended = false;
  const end = (failure?: unknown): IteratorResult<string> => {
    if (!ended) {
      ended = true;
      reader.close();
      release();
      meter.end(failure);
    }
    return { done: true, value: undefined };
  };
  const frames = (events: EventSourceMessage[]): string => {
    let out = "";
    for (const event of events) out += frame(event);
    return out;
  };
  const it: AsyncIterableIterator<string> = {
    next: async () => {
      if (ended) return { done: true, value: undefined };
      try {
        for (;;) {
          // The first batch was read before the call was committed; every later one is read here.
          const batch = pending ? first : await reader.read();
          pending = false;
          if (batch === undefined) return end();
          const out = frames(batch);
          if (out) return { done: false, value: out };
        }
      } catch (err) {
        // The caller went away: nobody to tell (the row says 499). Otherwise the HTTP layer sends it in-band.
        if (signal.aborted) return end();
        const failure = toUpstreamError(err, label, apiKey);
        end(failure);
        throw failure;
      }
    },
    return: async () => end(),
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

/** The sampling parameters the caller sent, as GenAI request attributes. */
function requestAttributes(body: Record<string, unknown>): Record<string, number> {
  const attributes: Record<string, number> = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (typeof maxTokens === "number") attributes[GenAI.REQUEST_MAX_TOKENS] = maxTokens;
  if (typeof body.temperature === "number") attributes[GenAI.REQUEST_TEMPERATURE] = body.temperature;
  if (typeof body.top_p === "number") attributes[GenAI.REQUEST_TOP_P] = body.top_p;
  if (typeof body.seed === "number") attributes[GenAI.REQUEST_SEED] = body.seed;
  return attributes;
}
