/**
 * The router: the ModelService the HTTP layer talks to, in front of the local engine. A model name resolves to an
 * ordered list of backends: a local model of that name (unless the best route says `prefer_remote`), the routes whose
 * pattern matches (by priority), then the primary route's fallback model, resolved the same way. Each is tried until
 * one produces its first event; a failure before that (missing local model, load failure, full queue, upstream
 * connection error, timeout, 429, 5xx, a route's own limit) moves on to the next. Once an event has been produced the
 * request is committed to that backend: a later failure is the client's, never retried elsewhere.
 */
import { context, trace } from "@opentelemetry/api";
import type { Logger } from "../../observability/logger.js";
import { GenAI, SpanKind, recordError, tracer, type Span } from "../../observability/spans.js";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import type { DeleteResult, LoadedModel, ModelInfo, ModelService, ModelSummary } from "../core/model-service.js";
import { HttpError, badRequest, modelNotFound } from "../errors.js";
import type { Store } from "../store/store.js";
import { findModelRow } from "../engine/model-spec.js";
import { costOf } from "./pricing.js";
import { createUpstream, type Upstream } from "./providers.js";
import { currentRecord } from "./request-record.js";
import { backendLabel, fromRouteRow, type Route } from "./route.js";
import { RouteLimiter } from "./route-limiter.js";
import { isGlob, matchRoutes } from "./route-table.js";
import type { SecretBox } from "./secret-box.js";
import { UpstreamError } from "./upstream-errors.js";

export interface RouterOptions {
  local: ModelService;
  store: Store;
  secrets: SecretBox;
  /** Reads an environment variable at request time (keys named by `--api-key-env`). */
  readEnv: (name: string) => string | undefined;
  /** Base URLs for routes that give none (OPENAI_BASE_URL, ANTHROPIC_BASE_URL). */
  defaultBaseUrls?: { openai?: string; anthropic?: string };
  logger: Logger;
  /** Retries the SDKs make against one upstream before the router moves on (default 2). */
  maxRetries?: number;
}

/** One way to serve a name. */
export type Candidate = { kind: "local"; model: string } | { kind: "route"; route: Route; model: string };

/** A routed name `/v1/models` and `/api/tags` list (exact patterns only: a glob names no model). */
export interface RemoteModel {
  name: string;
  provider: Route["provider"];
  upstreamModel: string;
  baseUrl: string | null;
  createdAt: string;
}

const MAX_FALLBACK_DEPTH = 3;

export class RoutingModelService implements ModelService {
  #routes: Promise<Route[]> | undefined;
  readonly #limiters = new Map<number, RouteLimiter>();

  constructor(private readonly options: RouterOptions) {}

  /** Forget the cached route table (after `route add`/`rm`). */
  invalidate(): void {
    this.#routes = undefined;
  }

  routes(): Promise<Route[]> {
    this.#routes ??= this.options.store.routes.list().then((rows) => rows.map(fromRouteRow));
    this.#routes.catch(() => (this.#routes = undefined));
    return this.#routes;
  }

  /** Names served by routes, for model lists. */
  async remoteModels(): Promise<RemoteModel[]> {
    return (await this.routes())
      .filter((r) => !isGlob(r.pattern))
      .map((r) => ({ name: r.pattern, provider: r.provider, upstreamModel: r.upstreamModel ?? r.pattern, baseUrl: r.baseUrl, createdAt: r.createdAt }));
  }

  /** The backends that may serve `name`, in the order they are tried. */
  async plan(name: string, seen = new Set<string>(), depth = 0): Promise<Candidate[]> {
    seen.add(name);
    const routes = matchRoutes(await this.routes(), name);
    const localExists = await findModelRow(this.options.store, name).then(
      () => true,
      () => false,
    );
    const remote: Candidate[] = routes.map((route) => ({ kind: "route", route, model: route.upstreamModel ?? name }));
    const local: Candidate[] = localExists || routes.length === 0 ? [{ kind: "local", model: name }] : [];
    const candidates = routes[0]?.preferRemote ? [...remote, ...local] : [...local, ...remote];
    const fallback = routes[0]?.fallback;
    if (fallback && !seen.has(fallback) && depth < MAX_FALLBACK_DEPTH) candidates.push(...(await this.plan(fallback, seen, depth + 1)));
    return candidates;
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    // A plain iterator over the chosen backend's stream rather than a generator delegating with `yield*`: after the
    // first event each `next()` goes straight to `#observe`, one async layer less per streamed event.
    let events: AsyncIterator<ChatEvent> | undefined;
    let closed = false;
    const it: AsyncIterableIterator<ChatEvent> = {
      next: () => {
        if (events) return events.next();
        events = EMPTY;
        return this.#select(request, signal).then(async (chosen) => {
          const first = await chosen.next();
          // Closed while the backend was being chosen: end the stream that started, so its span and slot are freed.
          if (closed) return (await chosen.return?.()) ?? { done: true, value: undefined };
          events = chosen;
          return first;
        });
      },
      return: async () => {
        closed = true;
        return (await events?.return?.()) ?? { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  async *complete(request: CompletionRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const record = currentRecord();
    if (record) record.model = request.model;
    const [first] = await this.plan(request.model);
    // Raw-prompt completion has no chat-shaped equivalent upstream; only local models serve it.
    if (first?.kind !== "local") throw badRequest(`model "${request.model}" is routed to ${first?.route.provider}; raw text completions are served only by local models`, "model");
    yield* this.#observe(undefined, this.options.local.complete(request, signal)[Symbol.asyncIterator](), undefined, { provider: "local", model: request.model }, performance.now());
  }

  async embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    const record = currentRecord();
    if (record) record.model = request.model;
    const candidates = await this.plan(request.model);
    let firstError: unknown;
    for (const [i, c] of candidates.entries()) {
      try {
        const label = c.kind === "local" ? "local" : backendLabel(c.route, c.model);
        const result =
          c.kind === "local"
            ? await this.options.local.embed({ ...request, model: c.model }, signal)
            : await this.#embedUpstream(c.route, c.model, request, signal);
        if (record) {
          record.backend = label;
          record.onBackend?.(label);
          record.inputTokens = result.usage.inputTokens;
          record.outputTokens = 0;
          record.costUsd = c.kind === "local" ? 0 : costOf(c.route.provider, c.model, { inputTokens: result.usage.inputTokens, outputTokens: 0 }, c.route.baseUrl);
        }
        return c.kind === "local" ? result : { ...result, model: request.model };
      } catch (err) {
        firstError ??= err;
        if (i === candidates.length - 1 || signal.aborted || !mayFallBack(err, c)) throw pickError(firstError, err);
        this.options.logger.warn({ model: request.model, backend: describe(c), err: errorText(err) }, "backend failed; trying the next");
      }
    }
    throw modelNotFound(request.model);
  }

  async countTokens(request: ChatRequest, signal: AbortSignal): Promise<{ inputTokens: number }> {
    const [first] = await this.plan(request.model);
    // Only the local engine can count with the tokenizer generation uses; an upstream's count would be a guess here.
    if (first?.kind === "route") {
      throw badRequest(`model "${request.model}" is routed to ${first.route.provider}; tokens are counted only for local models`, "model");
    }
    return this.options.local.countTokens(request, signal);
  }

  async load(model: string, keepAliveMs?: number): Promise<void> {
    const [first] = await this.plan(model);
    // A routed name has nothing to load here; answering keeps Ollama clients' warm-up calls working.
    if (first?.kind === "route") return;
    await this.options.local.load(model, keepAliveMs);
  }

  show(model: string): Promise<ModelInfo> {
    return this.options.local.show(model);
  }

  /** Local models, then the names routes serve that no local model has. */
  async list(): Promise<ModelSummary[]> {
    const local = await this.options.local.list();
    const names = new Set(local.map((m) => m.name));
    const remote = (await this.remoteModels()).filter((m) => !names.has(m.name)).map(toRemoteSummary);
    return [...local, ...remote];
  }

  running(): LoadedModel[] {
    return this.options.local.running();
  }

  unload(model: string): Promise<boolean> {
    return this.options.local.unload(model);
  }

  /** Only local models have files to delete; a routed name is removed with `mlxm route rm`. */
  delete(model: string): Promise<DeleteResult> {
    return this.options.local.delete(model);
  }

  /** Try the candidates in order until one produces its first event; its stream, observed, from that event on. */
  async #select(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterator<ChatEvent>> {
    const started = performance.now();
    const record = currentRecord();
    if (record) record.model = request.model;
    const candidates = await this.plan(request.model);
    let firstError: unknown;
    for (const [i, c] of candidates.entries()) {
      const attempt = this.#open(c, request, signal);
      let first: IteratorResult<ChatEvent>;
      try {
        first = await attempt.next();
      } catch (err) {
        attempt.fail(err);
        firstError ??= err;
        if (i === candidates.length - 1 || signal.aborted || !mayFallBack(err, c)) throw pickError(firstError, err);
        this.options.logger.warn({ model: request.model, backend: attempt.label, err: errorText(err) }, "backend failed before its first byte; trying the next");
        continue;
      }
      if (record) {
        record.backend = attempt.label;
        record.onBackend?.(attempt.label);
      }
      attempt.span?.setAttribute("mlxm.backend", attempt.label);
      return this.#observe(first, attempt.rest(), attempt, attempt.pricing, started);
    }
    throw modelNotFound(request.model);
  }

  /** Start one backend. `next()` runs the upstream call inside the route's span, so SDK spans are its children. */
  #open(c: Candidate, request: ChatRequest, signal: AbortSignal) {
    if (c.kind === "local") {
      const it = this.options.local.chat({ ...request, model: c.model }, signal)[Symbol.asyncIterator]();
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
      release = this.#limiter(route).acquire();
      return this.#upstream(route, model).chat({ ...request, model }, signal);
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
  async *#observe(
    first: IteratorResult<ChatEvent> | undefined,
    events: AsyncIterator<ChatEvent>,
    attempt: { span?: Span; release(): void } | undefined,
    pricing: { provider: Route["provider"] | "local"; model: string; baseUrl?: string | null },
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
        if (ev.type === "done") {
          const usage = ev.usage as typeof ev.usage & { cachedInputTokens?: number };
          const cost = costOf(pricing.provider, pricing.model, usage, pricing.baseUrl);
          if (record) {
            record.inputTokens = usage.inputTokens;
            record.outputTokens = usage.outputTokens;
            record.cachedTokens = usage.cachedInputTokens ?? 0;
            record.costUsd = cost;
          }
          span?.setAttributes({
            [GenAI.USAGE_INPUT_TOKENS]: usage.inputTokens,
            [GenAI.USAGE_OUTPUT_TOKENS]: usage.outputTokens,
            [GenAI.RESPONSE_FINISH_REASONS]: [ev.finishReason],
            ...(usage.cachedInputTokens ? { "gen_ai.usage.cache_read.input_tokens": usage.cachedInputTokens } : {}),
            // Logfire reads a span's cost (USD) from `operation.cost`.
            ...(cost !== null ? { "operation.cost": cost } : {}),
          });
        }
        yield ev;
      }
    } catch (err) {
      if (record) record.error = errorText(err);
      if (span) recordError(span, err);
      throw err;
    } finally {
      await events.return?.();
      attempt?.release();
      span?.end();
    }
  }

  #limiter(route: Route): RouteLimiter {
    const limits = { maxConcurrency: route.maxConcurrency, requestsPerMinute: route.requestsPerMinute };
    let limiter = this.#limiters.get(route.id);
    if (!limiter) this.#limiters.set(route.id, (limiter = new RouteLimiter(`route ${route.pattern}`, limits)));
    else limiter.update(limits);
    return limiter;
  }

  #upstream(route: Route, model: string): Upstream {
    const { defaultBaseUrls, maxRetries } = this.options;
    return createUpstream({
      route,
      model,
      label: backendLabel(route, model),
      apiKey: this.#apiKey(route),
      defaultBaseUrl: route.provider === "anthropic" ? defaultBaseUrls?.anthropic : route.provider === "openai" ? defaultBaseUrls?.openai : undefined,
      maxRetries: maxRetries ?? 2,
    });
  }

  async #embedUpstream(route: Route, model: string, request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    const upstream = this.#upstream(route, model);
    if (!upstream.embed) throw badRequest(`model "${request.model}" is routed to ${route.provider}, which has no embeddings API`, "model");
    const release = this.#limiter(route).acquire();
    try {
      return await upstream.embed({ ...request, model }, signal);
    } finally {
      release();
    }
  }

  /** The route's key, read now: from its variable, its sealed copy, or the provider's usual variable. */
  #apiKey(route: Route): string | undefined {
    const source = route.keySource;
    switch (source.kind) {
      case "stored":
        return this.options.secrets.open(source.sealed);
      case "env": {
        const key = this.options.readEnv(source.name);
        if (!key) throw new UpstreamError("upstream_error", `route ${route.pattern}: the variable ${source.name} holding its API key is not set`, true);
        return key;
      }
      case "default": {
        const name = route.provider === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
        const key = this.options.readEnv(name);
        if (!key) throw new UpstreamError("upstream_error", `route ${route.pattern}: no API key (set ${name}, or add the route with --api-key-env/--api-key-stdin)`, true);
        return key;
      }
      case "none":
        return undefined;
    }
  }
}

/** Where `chat()` stands while its backend is being chosen, and after the choice failed: nothing more to read. */
const EMPTY: AsyncIterator<ChatEvent> = { next: async () => ({ done: true, value: undefined }) };

/** Whether a failure of `c` before its first event lets the next backend try. */
function mayFallBack(err: unknown, c: Candidate): boolean {
  if (err instanceof UpstreamError) return err.retriable;
  if (!(err instanceof HttpError)) return c.kind === "local";
  // A bad request fails the same way everywhere; a cancelled one has no one left to answer.
  return !["bad_request", "invalid_json", "cancelled", "payload_too_large"].includes(err.code);
}

/** The error worth reporting: a missing local model says less than the upstream failure that followed it. */
function pickError(first: unknown, last: unknown): unknown {
  return first instanceof HttpError && first.code === "model_not_found" ? last : first;
}

function describe(c: Candidate): string {
  return c.kind === "local" ? "local" : backendLabel(c.route, c.model);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every step of `it` runs in `ctx` (the route's span), whoever pulls it. */
function bindContext<T>(it: AsyncIterator<T>, ctx: ReturnType<typeof context.active>): AsyncIterator<T> {
  return {
    next: () => context.with(ctx, () => it.next()),
    return: async (value?: unknown) => context.with(ctx, async () => (await it.return?.(value as T)) ?? { done: true, value: undefined as T }),
  };
}

/** A routed name as model lists show it: size 0, nothing on disk. */
function toRemoteSummary(m: RemoteModel): ModelSummary {
  return {
    name: m.name,
    sizeBytes: 0,
    digest: "",
    createdAt: m.createdAt,
    modifiedAt: m.createdAt,
    format: "remote",
    family: m.provider,
    remote: { provider: m.provider, upstreamModel: m.upstreamModel, host: m.baseUrl ?? m.provider },
  };
}
