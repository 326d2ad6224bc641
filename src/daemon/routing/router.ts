/**
 * The router: the ModelService the HTTP layer talks to, in front of the local engine. A model name resolves to an
 * ordered list of backends: a local model of that name (unless the best route says `prefer_remote`), the routes whose
 * pattern matches (by priority), then the primary route's fallback model, resolved the same way. Each is tried until
 * one produces its first event; a failure before that (missing local model, load failure, full queue, upstream
 * connection error, timeout, 429, 5xx, a route's own limit) moves on to the next. Once an event has been produced the
 * request is committed to that backend: a later failure is the client's, never retried elsewhere.
 */
import type { Logger } from "../../observability/logger.js";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import type { DeleteResult, LoadedModel, ModelInfo, ModelService, ModelSummary } from "../core/model-service.js";
import { badRequest, HttpError } from "../errors.js";
import type { Store } from "../store/store.js";
import { lookupModelRow, withoutLatestTag } from "../engine/model-spec.js";
import { startCore, startCoreCompletion, type BackendDeps } from "./core-attempt.js";
import { firstThatServes, type Candidate, type Served } from "./fallback.js";
import { forwards, type Forwarded, type WireCall } from "./forward-call.js";
import { forwardJson, startForward, type ForwardDeps } from "./forward-attempt.js";
import { costOf } from "./pricing.js";
import { createUpstream, type Upstream } from "./providers.js";
import { currentRecord } from "./request-record.js";
import { displayUrl } from "../../observability/redact.js";
import { backendLabel, fromRouteRow, type Route } from "./route.js";
import { routeApiKey } from "./route-keys.js";
import { RouteLimiter } from "./route-limiter.js";
import { isGlob, matchRoutes } from "./route-table.js";
import type { SecretBox } from "./secret-box.js";
import type { UpstreamClientOptions } from "./upstream-clients.js";

export type { Candidate };

/** What `dispatch` gives the HTTP layer: the upstream's own response passed through, or core events to translate. */
export type Dispatched = { kind: "forwarded"; response: Forwarded } | { kind: "events"; events: AsyncIterable<ChatEvent> };

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
    // Ollama's clients name a model "x:latest" for "x", as local names are found either way; a routed name is too,
    // and the upstream (OpenAI's, Anthropic's) gets the name without the tag, unless a route names the tag itself.
    const bare = withoutLatestTag(name);
    const all = await this.routes();
    let routes = matchRoutes(all, name);
    if (!routes.length && bare !== name) routes = matchRoutes(all, bare);
    const localExists = (await lookupModelRow(this.options.store, name)) !== undefined;
    const remote: Candidate[] = routes.map((route) => ({ kind: "route", route, model: route.upstreamModel ?? (route.pattern === name ? name : bare) }));
    const local: Candidate[] = localExists || routes.length === 0 ? [{ kind: "local", model: name }] : [];
    const candidates = routes[0]?.preferRemote ? [...remote, ...local] : [...local, ...remote];
    const fallback = routes[0]?.fallback;
    if (fallback && !seen.has(fallback) && depth < MAX_FALLBACK_DEPTH) candidates.push(...(await this.plan(fallback, seen, depth + 1)));
    return candidates;
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    // A plain iterator over the chosen backend's stream rather than a generator delegating with `yield*`: after the
    // first event each `next()` goes straight to `observe`, one async layer less per streamed event.
    let events: AsyncIterator<ChatEvent> | undefined;
    let closed = false;
    const it: AsyncIterableIterator<ChatEvent> = {
      next: () => {
        if (events) return events.next();
        events = EMPTY;
        return this.#select(request.model, signal, (c, started) => startCore(this.#backends, c, request, signal, started)).then(async (chosen) => {
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

  /**
   * A chat in the caller's own wire format (OpenAI chat completions, Anthropic messages). A route whose upstream
   * speaks that format gets the body passed through; any other backend gets `toCore()`, which throws the 400 a body
   * the core model cannot express deserves (so a request only an upstream can honour is refused only when it would
   * reach one that cannot). Fallback and limits are the same either way.
   */
  dispatch(call: WireCall, toCore: () => ChatRequest, signal: AbortSignal): Promise<Dispatched> {
    return this.#dispatch(call, signal, toCore, (c, started) => startCore(this.#backends, c, { ...toCore(), model: call.model }, signal, started));
  }

  /**
   * OpenAI's legacy `/v1/completions`: OpenAI-speaking routes get the body passed through; local models serve it; an
   * Anthropic route has no equivalent and leaves it to the next backend of the name.
   */
  dispatchCompletion(call: WireCall, toCore: () => CompletionRequest, signal: AbortSignal): Promise<Dispatched> {
    return this.#dispatch(call, signal, toCore, (c, started) => startCoreCompletion(this.#backends, c, { ...toCore(), model: call.model }, signal, started));
  }

  /**
   * A raw or fill-in-the-middle completion in the core model (Ollama's `/api/generate` with `raw` or `suffix`): served
   * by local models and, through OpenAI's text completions API, by OpenAI-speaking routes, with the same fallback.
   */
  async *complete(request: CompletionRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    yield* iterable(await this.#select(request.model, signal, (c, started) => startCoreCompletion(this.#backends, c, request, signal, started)));
  }

  async embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    const record = currentRecord();
    if (record) record.model = request.model;
    const { label, result } = await firstThatServes(request.model, await this.plan(request.model), signal, this.options.logger, async (c) => {
      const label = c.kind === "local" ? "local" : backendLabel(c.route, c.model);
      const result =
        c.kind === "local" ? await this.options.local.embed({ ...request, model: c.model }, signal) : await this.#embedUpstream(c.route, c.model, request, signal);
      if (record) {
        record.inputTokens = result.usage.inputTokens;
        record.outputTokens = 0;
        record.costUsd = c.kind === "local" ? 0 : costOf(c.route.provider, c.model, { inputTokens: result.usage.inputTokens, outputTokens: 0 }, c.route.baseUrl);
      }
      return { label, result: c.kind === "local" ? result : { ...result, model: request.model } };
    });
    this.#commit(label);
    return result;
  }

  async countTokens(request: ChatRequest, signal: AbortSignal): Promise<{ inputTokens: number }> {
    return this.#countLocal((await this.plan(request.model))[0], request, signal);
  }

  /**
   * Anthropic's `count_tokens` in the caller's wire format. A name whose first backend is an Anthropic route gets the
   * body forwarded as sent (only `model` rewritten) and the upstream's answer as is: Anthropic counts with the
   * tokenizer that will bill the request. Anything else is counted as `countTokens` does.
   */
  async dispatchCountTokens(call: WireCall, toCore: () => ChatRequest, signal: AbortSignal): Promise<{ kind: "forwarded"; body: unknown } | { kind: "counted"; inputTokens: number }> {
    const [first] = await this.plan(call.model);
    if (first?.kind === "route" && forwards(call, first.route.provider)) {
      return { kind: "forwarded", body: await forwardJson(this.#forwarding, first.route, first.model, call, signal) };
    }
    const { inputTokens } = await this.#countLocal(first, { ...toCore(), model: call.model }, signal);
    return { kind: "counted", inputTokens };
  }

  #countLocal(first: Candidate | undefined, request: ChatRequest, signal: AbortSignal): Promise<{ inputTokens: number }> {
    // Only the local engine can count with the tokenizer generation uses; another upstream's count would be a guess.
    if (first?.kind === "route") {
      throw badRequest(`model "${request.model}" is routed to ${first.route.provider}; tokens are counted only for local models and Anthropic routes`, "model");
    }
    return this.options.local.countTokens(request, signal);
  }

  async load(model: string, keepAliveMs?: number): Promise<void> {
    const [first] = await this.plan(model);
    // A routed name has nothing to load here; answering keeps Ollama clients' warm-up calls working.
    if (first?.kind === "route") return;
    await this.options.local.load(model, keepAliveMs);
  }

  /**
   * A name whose first backend is a route is shown from the route, as `/api/tags` lists it: `ollama run` (and clients
   * that read a model's capabilities) call `/api/show` first, and `ollama run` pulls a name it says is not found.
   */
  async show(model: string): Promise<ModelInfo> {
    const [first] = await this.plan(model);
    if (first?.kind === "route") return toRemoteInfo(model, first.route, first.model);
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

  async unload(model: string): Promise<boolean> {
    const [first] = await this.plan(model);
    // A routed name with no local model has nothing loaded here: unloading it answers as loading it does, not 404.
    if (first?.kind === "route" && (await lookupModelRow(this.options.store, model)) === undefined) return false;
    return this.options.local.unload(model);
  }

  /** Only local models have files to delete; a routed name is removed with `mlxm route rm`, which the 404 says. */
  async delete(model: string): Promise<DeleteResult> {
    const [first] = await this.plan(model);
    if (first?.kind === "route" && (await lookupModelRow(this.options.store, model)) === undefined) {
      const { pattern } = first.route;
      throw new HttpError("model_not_found", `model "${model}" has no local files: route "${pattern}" serves it (\`mlxm route rm ${pattern}\` removes the route)`, { model }, undefined, "model");
    }
    return this.options.local.delete(model);
  }

  /** Try the candidates in order until one produces its first event; its stream, observed, from that event on. */
  async #select(
    model: string,
    signal: AbortSignal,
    start: (c: Candidate, started: number) => Promise<Served<AsyncIterator<ChatEvent>>>,
  ): Promise<AsyncIterator<ChatEvent>> {
    const started = performance.now();
    const record = currentRecord();
    if (record) record.model = model;
    const candidates = await this.plan(model);
    const { label, result } = await firstThatServes(model, candidates, signal, this.options.logger, (c) => start(c, started));
    this.#commit(label);
    return result;
  }

  /** Candidates in order: same-protocol routes pass the body through, every other backend goes through `core`. */
  async #dispatch(
    call: WireCall,
    signal: AbortSignal,
    toCore: () => unknown,
    core: (c: Candidate, started: number) => Promise<Served<AsyncIterator<ChatEvent>>>,
  ): Promise<Dispatched> {
    const started = performance.now();
    const candidates = await this.plan(call.model);
    // No upstream could take the body as it is: refuse a bad one now, before it counts as a request.
    if (!candidates.some((c) => c.kind === "route" && forwards(call, c.route.provider))) toCore();
    const record = currentRecord();
    if (record) record.model = call.model;
    const { label, result } = await firstThatServes<Dispatched>(call.model, candidates, signal, this.options.logger, async (c) => {
      if (c.kind === "route" && forwards(call, c.route.provider)) {
        const forwarded = await startForward(this.#forwarding, c.route, c.model, call, signal, started);
        return { label: forwarded.label, result: { kind: "forwarded", response: forwarded.result } };
      }
      const served = await core(c, started);
      return { label: served.label, result: { kind: "events", events: iterable(served.result) } };
    });
    this.#commit(label);
    return result;
  }

  /** The backend is chosen: say so on the request record and in `x-mlxm-backend`, before any byte is sent. */
  #commit(label: string): void {
    const record = currentRecord();
    if (!record) return;
    record.backend = label;
    record.onBackend?.(label);
  }

  readonly #backends: BackendDeps = {
    localChat: (request, signal) => this.options.local.chat(request, signal),
    localComplete: (request, signal) => this.options.local.complete(request, signal),
    limiter: (route) => this.#limiter(route),
    upstream: (route, model) => this.#upstream(route, model),
  };

  readonly #forwarding: ForwardDeps = {
    limiter: (route) => this.#limiter(route),
    clientOptions: (route) => this.#clientOptions(route),
  };

  #limiter(route: Route): RouteLimiter {
    const limits = { maxConcurrency: route.maxConcurrency, requestsPerMinute: route.requestsPerMinute };
    let limiter = this.#limiters.get(route.id);
    if (!limiter) this.#limiters.set(route.id, (limiter = new RouteLimiter(`route ${route.pattern}`, limits)));
    else limiter.update(limits);
    return limiter;
  }

  #clientOptions(route: Route): UpstreamClientOptions {
    const { defaultBaseUrls, maxRetries, secrets, readEnv } = this.options;
    return {
      route,
      apiKey: routeApiKey(route, secrets, readEnv),
      defaultBaseUrl: route.provider === "anthropic" ? defaultBaseUrls?.anthropic : route.provider === "openai" ? defaultBaseUrls?.openai : undefined,
      maxRetries: maxRetries ?? 2,
    };
  }

  #upstream(route: Route, model: string): Upstream {
    return createUpstream({ ...this.#clientOptions(route), model, label: backendLabel(route, model) });
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
}

/** Where `chat()` stands while its backend is being chosen, and after the choice failed: nothing more to read. */
const EMPTY: AsyncIterator<ChatEvent> = { next: async () => ({ done: true, value: undefined }) };

/** An iterator the HTTP layer can `for await` (the observed stream is a generator, so it already is one). */
function iterable<T>(it: AsyncIterator<T>): AsyncIterable<T> {
  return Symbol.asyncIterator in it ? (it as AsyncIterable<T>) : { [Symbol.asyncIterator]: () => it };
}

/** A routed name as model lists show it: size 0, nothing on disk. */
function toRemoteInfo(name: string, route: Route, upstreamModel: string): ModelInfo {
  const host = route.baseUrl ? displayUrl(route.baseUrl) : route.provider;
  return {
    name,
    source: `route ${route.pattern}`,
    digest: "",
    sizeBytes: 0,
    modifiedAt: route.createdAt,
    architecture: "",
    family: route.provider,
    parameterCount: 0,
    parameterSize: "",
    quantization: "",
    hasChatTemplate: false,
    files: [],
    notes: [`served by ${route.provider} at ${host} as "${upstreamModel}": nothing of it is on disk here`],
    metadata: {},
    remote: { provider: route.provider, upstreamModel, host },
  };
}

function toRemoteSummary(m: RemoteModel): ModelSummary {
  return {
    name: m.name,
    sizeBytes: 0,
    digest: "",
    createdAt: m.createdAt,
    modifiedAt: m.createdAt,
    format: "remote",
    family: m.provider,
    remote: { provider: m.provider, upstreamModel: m.upstreamModel, host: m.baseUrl ? displayUrl(m.baseUrl) : m.provider },
  };
}
