/**
 * MlxmClient: the CLI's only way to the daemon, and what tests use too (as Ollama's api/client.go).
 * It validates every response against the shared protocol schemas and turns error responses into typed errors.
 */
import type { z } from "zod";
import { HealthResponse, PsResponse, TagsResponse, VersionResponse } from "../protocol/native.js";
import { ChatResponse, EmbedResponse, GenerateResponse, type ChatRequest, type EmbedRequest, type GenerateRequest } from "../protocol/chat.js";
import { ShowResponse } from "../protocol/show.js";
import { CancelPullResponse, DeleteResponse, HUB_TOKEN_HEADER, PullProgress } from "../protocol/pull.js";
import { readNdjson } from "./ndjson.js";
import {
  ImportProgress,
  SearchResponse,
  StatusResponse,
  type CreateRequest,
  type ImportMode,
  type SearchSort,
} from "../protocol/library.js";
import { IngestSpansResponse, TraceListResponse, TraceResponse, TraceSummary, type SpanRecord, type TraceListQuery } from "../protocol/traces.js";
import { ApiError, DaemonUnreachableError } from "./errors.js";
import { CreateKeyResponse, KeyListResponse, RevokeKeyResponse } from "../protocol/keys.js";
import {
  RemoveRouteResponse,
  RouteEntry,
  RouteListResponse,
  RouteTestResponse,
  UsageResponse,
  type AddRouteRequest,
  type UsageGroup,
} from "../protocol/routes.js";

export interface MlxmClientOptions {
  baseUrl: string;
  /** Extra headers per request, e.g. W3C `traceparent` from the CLI's tracer. */
  headers?: () => Record<string, string>;
  /** Per-request timeout for non-streaming calls. */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer`: an API key, or the local admin token. */
  apiKey?: string;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export class MlxmClient {
  readonly baseUrl: string;
  private readonly extraHeaders: () => Record<string, string>;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly apiKey: string | undefined;

  constructor(options: MlxmClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.extraHeaders = options.headers ?? (() => ({}));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.apiKey = options.apiKey;
  }

  health(opts?: RequestOptions): Promise<HealthResponse> {
    return this.json("GET", "/api/health", HealthResponse, undefined, opts);
  }

  version(opts?: RequestOptions): Promise<VersionResponse> {
    return this.json("GET", "/api/version", VersionResponse, undefined, opts);
  }

  /** Local models (Ollama's `/api/tags`). */
  list(opts?: RequestOptions): Promise<TagsResponse> {
    return this.json("GET", "/api/tags", TagsResponse, undefined, opts);
  }

  /** Loaded models (Ollama's `/api/ps`). */
  ps(opts?: RequestOptions): Promise<PsResponse> {
    return this.json("GET", "/api/ps", PsResponse, undefined, opts);
  }

  /**
   * Pull a model; yields Ollama-shaped progress lines until "success". Breaking out of the loop (or aborting
   * `signal`) only detaches: the daemon owns the pull and finishes it.
   */
  async *pull(
    model: string,
    options: { file?: string; revision?: string; signal?: AbortSignal; hubToken?: string } = {},
  ): AsyncGenerator<PullProgress> {
    const body = { model, file: options.file, revision: options.revision, stream: true };
    // A pull this starts uses the caller's Hugging Face token instead of the daemon's HF_TOKEN.
    const res = await this.request("POST", "/api/pull", body, { signal: options.signal, headers: hubTokenHeaders(options.hubToken) });
    for await (const line of readNdjson(res.body, res.status)) yield PullProgress.parse(line);
  }

  /** Cancel a running pull; `discard` also deletes its partial data. */
  cancelPull(model: string, discard = false, opts?: RequestOptions): Promise<CancelPullResponse> {
    return this.json("POST", "/api/pull/cancel", CancelPullResponse, { model, discard }, opts);
  }

  /** Remove a local model (files shared with another model stay). */
  deleteModel(model: string, opts?: RequestOptions): Promise<DeleteResponse> {
    return this.json("DELETE", "/api/delete", DeleteResponse, { model }, opts);
  }

  /**
   * Import a GGUF file from this machine; yields progress lines (hashing) until `{status: "success", name}`.
   * The import belongs to the request: aborting `signal` (or breaking out) cancels it and leaves nothing behind.
   */
  async *importModel(path: string, options: { name?: string; mode?: ImportMode; signal?: AbortSignal } = {}): AsyncGenerator<ImportProgress> {
    const body = { path, ...(options.name ? { name: options.name } : {}), mode: options.mode ?? "copy", stream: true };
    const res = await this.request("POST", "/api/import", body, { signal: options.signal });
    for await (const line of readNdjson(res.body, res.status)) yield ImportProgress.parse(line);
  }

  /** Create a preset (Ollama's `/api/create`): a named model made from another with default system prompt and parameters. */
  create(request: CreateRequest, opts?: RequestOptions): Promise<StatusResponse> {
    return this.json("POST", "/api/create", StatusResponse, { ...request, stream: false }, opts);
  }

  /** A second name for a model (Ollama's `/api/copy`). */
  copy(source: string, destination: string, opts?: RequestOptions): Promise<StatusResponse> {
    return this.json("POST", "/api/copy", StatusResponse, { source, destination }, opts);
  }

  /** GGUF repositories on the Hugging Face Hub with their quantisations and sizes. */
  search(
    query: string,
    options: { limit?: number; sort?: SearchSort; hubToken?: string } = {},
    opts?: RequestOptions,
  ): Promise<SearchResponse> {
    const params = new URLSearchParams({ q: query });
    if (options.limit !== undefined) params.set("limit", String(options.limit));
    if (options.sort) params.set("sort", options.sort);
    // With the caller's Hugging Face token the search runs as the caller, the caller's private repos included.
    return this.json("GET", `/api/search?${params}`, SearchResponse, undefined, { ...opts, headers: hubTokenHeaders(options.hubToken) });
  }

  /**
   * Chat with a model (Ollama's `/api/chat`), streamed: yields each NDJSON line as it arrives, the last with
   * `done: true` and the metrics. Aborting `signal` (or breaking out) stops the generation on the daemon.
   */
  async *chat(request: ChatRequest, opts: RequestOptions = {}): AsyncGenerator<ChatResponse> {
    const res = await this.request("POST", "/api/chat", { ...request, stream: true }, opts);
    for await (const line of readNdjson(res.body, res.status)) yield ChatResponse.parse(line);
  }

  /** Generate from a prompt (Ollama's `/api/generate`), streamed like `chat`. */
  async *generate(request: GenerateRequest, opts: RequestOptions = {}): AsyncGenerator<GenerateResponse> {
    const res = await this.request("POST", "/api/generate", { ...request, stream: true }, opts);
    for await (const line of readNdjson(res.body, res.status)) yield GenerateResponse.parse(line);
  }

  /** Embed one or more texts (Ollama's `/api/embed`). */
  embed(request: EmbedRequest, opts?: RequestOptions): Promise<EmbedResponse> {
    return this.json("POST", "/api/embed", EmbedResponse, request, opts);
  }

  /** Everything known about a local model (Ollama's `/api/show`, plus mlxm's `mlxm` facts). */
  show(model: string, opts?: RequestOptions): Promise<ShowResponse> {
    return this.json("POST", "/api/show", ShowResponse, { model }, opts);
  }

  /** Load a model without generating; `keepAlive` as Ollama's (a duration string or seconds). */
  load(model: string, keepAlive?: string | number, opts?: RequestOptions): Promise<GenerateResponse> {
    return this.json("POST", "/api/generate", GenerateResponse, { model, stream: false, ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}) }, opts);
  }

  /** Unload a model now, as `ollama stop` does (keep_alive 0, no prompt). A model that does not exist is a NotFoundError. */
  stop(model: string, opts?: RequestOptions): Promise<GenerateResponse> {
    return this.json("POST", "/api/generate", GenerateResponse, { model, keep_alive: 0, stream: false }, opts);
  }

  /** Recent traces, newest first. */
  traces(query: TraceListQuery = {}, opts?: RequestOptions): Promise<TraceListResponse> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.since !== undefined) params.set("since", query.since);
    if (query.errors) params.set("errors", "true");
    const qs = params.size ? `?${params}` : "";
    return this.json("GET", `/api/traces${qs}`, TraceListResponse, undefined, opts);
  }

  /** Traces as they finish, pushed by the daemon (NDJSON), until the loop is left or `signal` aborts. */
  async *followTraces(query: { errors?: boolean } = {}, opts: RequestOptions = {}): AsyncGenerator<TraceSummary> {
    const res = await this.request("GET", `/api/traces/follow${query.errors ? "?errors=true" : ""}`, undefined, opts);
    for await (const line of readNdjson(res.body, res.status)) yield TraceSummary.parse(line);
  }

  /** One trace with all its spans; `id` may be "last" or a unique prefix. */
  trace(id: string, opts?: RequestOptions): Promise<TraceResponse> {
    return this.json("GET", `/api/traces/${encodeURIComponent(id)}`, TraceResponse, undefined, opts);
  }

  /** Create an API key; the answer is the only time the key is shown. Needs the local admin token. */
  createKey(name?: string, opts?: RequestOptions): Promise<CreateKeyResponse> {
    return this.json("POST", "/api/keys", CreateKeyResponse, name === undefined ? {} : { name }, opts);
  }

  /** API keys: name, prefix, created, last used, revoked. */
  keys(opts?: RequestOptions): Promise<KeyListResponse> {
    return this.json("GET", "/api/keys", KeyListResponse, undefined, opts);
  }

  /** Revoke the API key called `name`; requests with it fail at once. */
  revokeKey(name: string, opts?: RequestOptions): Promise<RevokeKeyResponse> {
    return this.json("DELETE", `/api/keys/${encodeURIComponent(name)}`, RevokeKeyResponse, undefined, opts);
  }

  /** Hand finished spans to the daemon's span store (the CLI tracer's root span). */
  ingestSpans(spans: SpanRecord[], opts?: RequestOptions): Promise<IngestSpansResponse> {
    return this.json("POST", "/api/traces", IngestSpansResponse, { spans }, opts);
  }

  /** The routes, best priority first (keys never included). */
  routes(opts?: RequestOptions): Promise<RouteListResponse> {
    return this.json("GET", "/api/routes", RouteListResponse, undefined, opts);
  }

  /** Add (or with `replace`, change) a route; a given `api_key` is stored encrypted. */
  addRoute(route: AddRouteRequest, opts?: RequestOptions): Promise<RouteEntry> {
    return this.json("POST", "/api/routes", RouteEntry, route, opts);
  }

  removeRoute(pattern: string, opts?: RequestOptions): Promise<RemoveRouteResponse> {
    return this.json("DELETE", "/api/routes", RemoveRouteResponse, { pattern }, opts);
  }

  /** Resolve `model` and make one tiny request through the router. */
  testRoute(model: string, opts?: RequestOptions): Promise<RouteTestResponse> {
    return this.json("POST", "/api/routes/test", RouteTestResponse, { model }, opts);
  }

  /** Request totals since `since` (ISO-8601; default the last 24 hours), grouped `by`. */
  usage(query: { since?: string; by?: UsageGroup } = {}, opts?: RequestOptions): Promise<UsageResponse> {
    const params = new URLSearchParams();
    if (query.since) params.set("since", query.since);
    if (query.by) params.set("by", query.by);
    return this.json("GET", `/api/usage${params.size ? `?${params}` : ""}`, UsageResponse, undefined, opts);
  }

  /** Send a request and parse its JSON answer with `schema`. */
  async json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
    opts: RequestOptions & { headers?: Record<string, string> } = {},
  ): Promise<z.infer<S>> {
    const res = await this.request(method, path, body, { ...opts, timeoutMs: this.timeoutMs });
    const data: unknown = await res.json();
    return schema.parse(data);
  }

  /** Send a request; resolve with the response when its status is 2xx, else throw its typed error. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    opts: RequestOptions & { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const signals = [opts.signal, opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const headers: Record<string, string> = { accept: "application/json", ...this.extraHeaders(), ...opts.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signals.length ? AbortSignal.any(signals) : undefined,
      });
    } catch (err) {
      if (isConnectionError(err)) {
        throw new DaemonUnreachableError(`no mlxm daemon answers at ${this.baseUrl}`, this.baseUrl);
      }
      if (err instanceof TypeError) {
        // Any other network-level failure (a port fetch refuses, a TLS endpoint, ...).
        const cause = (err as { cause?: { message?: string } }).cause?.message;
        throw new DaemonUnreachableError(`cannot reach an mlxm daemon at ${this.baseUrl}${cause ? `: ${cause}` : ""}`, this.baseUrl);
      }
      throw err;
    }
    if (!res.ok) {
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { error: text.slice(0, 500) || res.statusText };
      }
      throw ApiError.generate(res.status, parsed, res.headers.get("x-request-id") ?? undefined);
    }
    return res;
  }
}

/** fetch reports a refused connection as a TypeError whose `cause` carries the errno code. */
export function isConnectionError(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
  const code = cause?.code;
  return (
    err instanceof TypeError &&
    (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EHOSTUNREACH" || code === "ENOTFOUND" ||
      code === "UND_ERR_SOCKET" || code === "EADDRNOTAVAIL")
  );
}

/** The header carrying the caller's Hugging Face token, when there is one. */
function hubTokenHeaders(token: string | undefined): Record<string, string> | undefined {
  return token ? { [HUB_TOKEN_HEADER]: token } : undefined;
}
