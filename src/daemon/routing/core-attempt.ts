/**
 * One backend serving a request through the core chat model (the local engine, or an upstream SDK client when the
 * caller's protocol differs from the upstream's): start it, wait for its first event (a failure before that lets the
 * router fall back), then relay its events while noting TTFT, usage and cost on the request record and the route span.
 * A consumer that stops reading before the end (the client went away) cancels the backend and reads on to the `done`
 * it then sends, so the tokens generated up to the cancel are still counted; the request's row waits for that.
 */
import { context, trace } from "@opentelemetry/api";
import { GenAI, SpanKind, recordError, tracer, type Span } from "../../observability/spans.js";
import type { ChatEvent, ChatRequest, CompletionRequest } from "../core/chat.js";
import { UnsupportedInputError } from "../errors.js";
import type { Candidate, Served } from "./fallback.js";
import { forwards } from "./forward-call.js";
import { costOf, type PricedUsage } from "./pricing.js";
import type { Upstream } from "./providers.js";
import { currentRecord, holdRecord } from "./request-record.js";
import { backendLabel, type Route } from "./route.js";
import type { RouteLimiter } from "./route-limiter.js";
import { reportUsage } from "./usage-report.js";

/** What starting a backend needs from the router. */
export interface BackendDeps {
  localChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  localComplete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  limiter(route: Route): RouteLimiter;
  upstream(route: Route, model: string): Upstream;
}

/** One request as any backend runs it: a chat, or a raw (or fill-in-the-middle) completion. */
interface CoreWork {
  operation: "chat" | "text_completion";
  maxTokens: number | undefined;
  local(model: string, signal: AbortSignal): AsyncIterable<ChatEvent>;
  /** Throws (before any upstream call) what the upstream cannot take. */
  upstream(upstream: Upstream, model: string, signal: AbortSignal): AsyncIterable<ChatEvent>;
  /** Why `c` cannot serve this work at all, checked before it starts (no span, no slot): the next backend may. */
  unservable?(c: Candidate): Error | undefined;
}

function chatWork(deps: BackendDeps, request: ChatRequest): CoreWork {
  return {
    operation: "chat",
    maxTokens: request.sampling.maxTokens,
    local: (model, signal) => deps.localChat({ ...request, model }, signal),
    upstream: (upstream, model, signal) => upstream.chat({ ...request, model }, signal),
  };
}

function completionWork(deps: BackendDeps, request: CompletionRequest): CoreWork {
  return {
    operation: "text_completion",
    maxTokens: request.sampling.maxTokens,
    local: (model, signal) => deps.localComplete({ ...request, model }, signal),
    upstream: (upstream, model, signal) => {
      if (!upstream.complete) throw new Error(`${upstream.label} has no text completions API`); // ruled out by `unservable`
      return upstream.complete({ ...request, model }, signal);
    },
    // Only OpenAI-speaking routes have a text completions API (Anthropic has none); another backend of the name may.
    unservable: (c) => {
      if (c.kind !== "route" || forwards({ api: "openai", endpoint: "completions" }, c.route.provider)) return undefined;
      const what = request.suffix !== undefined ? "fill-in-the-middle (suffix)" : "raw text completions";
      return new UnsupportedInputError(`model "${request.model}" is routed to ${c.route.provider}, which has no ${what}; OpenAI-speaking routes and local models serve them`, request.suffix !== undefined ? "suffix" : "model");
    },
  };
}

type Pricing = { provider: Route["provider"] | "local"; model: string; baseUrl?: string | null };

/** One backend serving a request, as `observe` sees it. */
export interface Attempt {
  /** A route's span; a local generation has its own. */
  span?: Span;
  /** Stop the backend: it then ends its stream with a `done` event carrying what it generated (ModelService contract). */
  cancel(): void;
  /** Free what serving held: the route's slot, and the request record (whose row waits for it). */
  release(): void;
}

/** A signal that aborts with the caller's, or when `cancel()` is called. */
function cancellable(signal: AbortSignal): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  return { signal: AbortSignal.any([signal, controller.signal]), cancel: () => controller.abort(new Error("the consumer stopped reading")) };
}

/** Start `c` and wait for its first event; its observed stream from that event on. */
export function startCore(deps: BackendDeps, c: Candidate, request: ChatRequest, signal: AbortSignal, started: number): Promise<Served<AsyncIterator<ChatEvent>>> {
  return start(deps, c, chatWork(deps, request), signal, started);
}

/** `startCore` for a raw or fill-in-the-middle completion: local models and OpenAI-speaking routes serve it. */
export function startCoreCompletion(deps: BackendDeps, c: Candidate, request: CompletionRequest, signal: AbortSignal, started: number): Promise<Served<AsyncIterator<ChatEvent>>> {
  return start(deps, c, completionWork(deps, request), signal, started);
}

async function start(deps: BackendDeps, c: Candidate, work: CoreWork, signal: AbortSignal, started: number): Promise<Served<AsyncIterator<ChatEvent>>> {
  const unservable = work.unservable?.(c);
  if (unservable) throw unservable;
  const attempt = open(deps, c, work, signal);
  let first: IteratorResult<ChatEvent>;
  try {
    first = await attempt.next();
  } catch (err) {
    attempt.fail(err);
    throw err;
  }
  attempt.span?.setAttribute("mlxm.backend", attempt.label);
  return { label: attempt.label, result: observe(first, attempt.rest(), attempt, attempt.pricing, started) };
}

/** Start one backend. `next()` runs the upstream call inside the route's span, so SDK spans are its children. */
function open(deps: BackendDeps, c: Candidate, work: CoreWork, callerSignal: AbortSignal) {
  const { signal, cancel } = cancellable(callerSignal);
  const unhold = holdRecord(currentRecord());
  if (c.kind === "local") {
    const it = work.local(c.model, signal)[Symbol.asyncIterator]();
    return {
      label: "local",
      span: undefined as Span | undefined,
      pricing: { provider: "local" as const, model: c.model },
      next: () => it.next(),
      rest: () => it,
      fail: (_err: unknown) => {
        void it.return?.();
        unhold();
      },
      cancel,
      release: unhold,
    };
  }
  const { route, model } = c;
  const label = backendLabel(route, model);
  const span = tracer().startSpan(`${work.operation} ${model}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      [GenAI.OPERATION_NAME]: work.operation,
      [GenAI.PROVIDER_NAME]: route.provider === "anthropic" ? "anthropic" : "openai",
      [GenAI.REQUEST_MODEL]: model,
      "mlxm.route.pattern": route.pattern,
      "mlxm.backend": label,
      ...(work.maxTokens !== undefined ? { [GenAI.REQUEST_MAX_TOKENS]: work.maxTokens } : {}),
    },
  });
  const spanContext = trace.setSpan(context.active(), span);
  let releaseSlot = () => {};
  let it: AsyncIterator<ChatEvent> | undefined;
  const start = (): AsyncIterator<ChatEvent> => {
    // Translated first: a request the upstream cannot take is refused without taking a slot under the route's limits.
    const events = work.upstream(deps.upstream(route, model), model, signal)[Symbol.asyncIterator]();
    releaseSlot = deps.limiter(route).acquire();
    return events;
  };
  return {
    label,
    span,
    pricing: { provider: route.provider, model, baseUrl: route.baseUrl },
    next: () =>
      context.with(spanContext, () => {
        it = start();
        return it.next();
      }),
    rest: () => bindContext(it!, spanContext),
    fail: (err: unknown) => {
      // As the pass-through's meter does: the row of a request that failed says why (upstream errors come scrubbed).
      const record = currentRecord();
      if (record) record.error = err instanceof Error ? err.message : String(err);
      releaseSlot();
      unhold();
      recordError(span, err);
      span.end();
    },
    cancel,
    release: () => {
      releaseSlot();
      unhold();
    },
  };
}

/**
 * Relay `first` then the rest of `events`, noting TTFT, usage and cost on the request record and the route's span.
 * Left before its `done` (the consumer returned early), it cancels the backend and reads on to that `done`.
 */
export async function* observe(
  first: IteratorResult<ChatEvent> | undefined,
  events: AsyncIterator<ChatEvent>,
  attempt: Attempt,
  pricing: Pricing,
  started: number,
): AsyncGenerator<ChatEvent> {
  const record = currentRecord();
  const span = attempt.span;
  const report = (done: Extract<ChatEvent, { type: "done" }>) => {
    // Upstreams may say more than the core model carries (Anthropic's cache writes, see anthropic-upstream.ts).
    const usage = done.usage as PricedUsage;
    if (done.usageUnreported) {
      // Unknown, not 0: the row says null and the span leaves the counts out, as the pass-through's meter does.
      reportUsage(record, span, { ...usage, inputTokens: undefined, outputTokens: undefined }, null, [done.finishReason], pricing.provider !== "local");
      return;
    }
    reportUsage(record, span, usage, costOf(pricing.provider, pricing.model, usage, pricing.baseUrl), [done.finishReason], pricing.provider !== "local");
  };
  let firstOutput = false;
  let ended = false;
  try {
    for (let r = first ?? (await events.next()); !r.done; r = await events.next()) {
      const ev = r.value;
      // `start` reports the prompt before any token: time to first token runs to the first output event.
      if (!firstOutput && ev.type !== "done" && ev.type !== "start") {
        firstOutput = true;
        const ttft = Math.round((performance.now() - started) * 10) / 10;
        if (record) record.ttftMs = ttft;
        span?.setAttribute(GenAI.TIME_TO_FIRST_TOKEN_MS, ttft);
      }
      // The prompt's size is known before any token: a request cancelled before its end still counts its input.
      if (ev.type === "start" && record) {
        record.inputTokens = ev.inputTokens;
        if (ev.cachedInputTokens !== undefined) record.cachedTokens = ev.cachedInputTokens;
      }
      if (ev.type === "done") {
        ended = true;
        // A stream that is only a cancelled `done` never started (its caller left while it was queued or loading):
        // its zero counts are unknown ones, and the row says null rather than 0.
        if (!(r === first && ev.finishReason === "cancelled")) report(ev);
      }
      yield ev;
    }
    ended = true;
  } catch (err) {
    ended = true;
    if (record) record.error = err instanceof Error ? err.message : String(err);
    if (span) recordError(span, err);
    throw err;
  } finally {
    if (!ended) {
      const done = await cancelled(events, attempt);
      if (done) report(done);
    }
    await events.return?.();
    attempt.release();
    span?.end();
  }
}

/** Cancel a backend whose consumer left, and read its stream on to the `done` it ends with (undefined if none). */
async function cancelled(events: AsyncIterator<ChatEvent>, attempt: Attempt): Promise<Extract<ChatEvent, { type: "done" }> | undefined> {
  attempt.cancel();
  try {
    for (let r = await events.next(); !r.done; r = await events.next()) if (r.value.type === "done") return r.value;
  } catch {
    // A backend that fails while stopping has nothing more to count.
  }
  return undefined;
}

/** Every step of `it` runs in `ctx` (the route's span), whoever pulls it. */
function bindContext<T>(it: AsyncIterator<T>, ctx: ReturnType<typeof context.active>): AsyncIterator<T> {
  return {
    next: () => context.with(ctx, () => it.next()),
    return: async (value?: unknown) => context.with(ctx, async () => (await it.return?.(value as T)) ?? { done: true, value: undefined as T }),
  };
}
