/**
 * One backend serving a request through the core chat model (the local engine, or an upstream SDK client when the
 * caller's protocol differs from the upstream's): start it, wait for its first event (a failure before that lets the
 * router fall back), then relay its events while noting TTFT, usage and cost on the request record and the route span.
 */
import { context, trace } from "@opentelemetry/api";
import { GenAI, SpanKind, recordError, tracer, type Span } from "../../observability/spans.js";
import type { ChatEvent, ChatRequest } from "../core/chat.js";
import type { Candidate, Served } from "./fallback.js";
import { costOf, type PricedUsage } from "./pricing.js";
import type { Upstream } from "./providers.js";
import { currentRecord } from "./request-record.js";
import { backendLabel, type Route } from "./route.js";
import type { RouteLimiter } from "./route-limiter.js";
import { reportUsage } from "./usage-report.js";

/** What starting a backend needs from the router. */
export interface BackendDeps {
  localChat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  limiter(route: Route): RouteLimiter;
  upstream(route: Route, model: string): Upstream;
}

type Pricing = { provider: Route["provider"] | "local"; model: string; baseUrl?: string | null };

/** Start `c` and wait for its first event; its observed stream from that event on. */
export async function startCore(deps: BackendDeps, c: Candidate, request: ChatRequest, signal: AbortSignal, started: number): Promise<Served<AsyncIterator<ChatEvent>>> {
  const attempt = open(deps, c, request, signal);
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
function open(deps: BackendDeps, c: Candidate, request: ChatRequest, signal: AbortSignal) {
  if (c.kind === "local") {
    const it = deps.localChat({ ...request, model: c.model }, signal)[Symbol.asyncIterator]();
    return {
      label: "local",
      span: undefined as Span | undefined,
      pricing: { provider: "local" as const, model: c.model },
      next: () => it.next(),
      rest: () => it,
      fail: (_err: unknown) => void it.return?.(),
      release: () => {},
    };
  }
  const { route, model } = c;
  const label = backendLabel(route, model);
  const span = tracer().startSpan(`chat ${model}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      [GenAI.OPERATION_NAME]: "chat",
      [GenAI.PROVIDER_NAME]: route.provider === "anthropic" ? "anthropic" : "openai",
      [GenAI.REQUEST_MODEL]: model,
      "mlxm.route.pattern": route.pattern,
      "mlxm.backend": label,
      ...(request.sampling.maxTokens !== undefined ? { [GenAI.REQUEST_MAX_TOKENS]: request.sampling.maxTokens } : {}),
    },
  });
  const spanContext = trace.setSpan(context.active(), span);
  let release = () => {};
  let it: AsyncIterator<ChatEvent> | undefined;
  const start = (): AsyncIterator<ChatEvent> => {
    release = deps.limiter(route).acquire();
    return deps.upstream(route, model).chat({ ...request, model }, signal);
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
      release();
      recordError(span, err);
      span.end();
    },
    release: () => release(),
  };
}

/** Relay `first` then the rest of `events`, noting TTFT, usage and cost on the request record and the route's span. */
export async function* observe(
  first: IteratorResult<ChatEvent> | undefined,
  events: AsyncIterator<ChatEvent>,
  attempt: { span?: Span; release(): void } | undefined,
  pricing: Pricing,
  started: number,
): AsyncGenerator<ChatEvent> {
  const record = currentRecord();
  const span = attempt?.span;
  let firstOutput = false;
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
        // Upstreams may say more than the core model carries (Anthropic's cache writes, see anthropic-upstream.ts).
        const usage = ev.usage as PricedUsage;
        reportUsage(record, span, usage, costOf(pricing.provider, pricing.model, usage, pricing.baseUrl), [ev.finishReason], pricing.provider !== "local");
      }
      yield ev;
    }
  } catch (err) {
    if (record) record.error = err instanceof Error ? err.message : String(err);
    if (span) recordError(span, err);
    throw err;
  } finally {
    await events.return?.();
    attempt?.release();
    span?.end();
  }
}

/** Every step of `it` runs in `ctx` (the route's span), whoever pulls it. */
function bindContext<T>(it: AsyncIterator<T>, ctx: ReturnType<typeof context.active>): AsyncIterator<T> {
  return {
    next: () => context.with(ctx, () => it.next()),
    return: async (value?: unknown) => context.with(ctx, async () => (await it.return?.(value as T)) ?? { done: true, value: undefined as T }),
  };
}
