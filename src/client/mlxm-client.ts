/**
 * MlxmClient: the CLI's only way to the daemon, and what tests use too (as Ollama's api/client.go).
 * It validates every response against the shared protocol schemas and turns error responses into typed errors.
 */
import type { z } from "zod";
import { HealthResponse, PsResponse, TagsResponse, VersionResponse } from "../protocol/native.js";
import { TraceListResponse, TraceResponse, type TraceListQuery } from "../protocol/traces.js";
import { ApiError, DaemonUnreachableError } from "./errors.js";

export interface MlxmClientOptions {
  baseUrl: string;
  /** Extra headers per request, e.g. W3C `traceparent` from the CLI's tracer. */
  headers?: () => Record<string, string>;
  /** Per-request timeout for non-streaming calls. */
  timeoutMs?: number;
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

  constructor(options: MlxmClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.extraHeaders = options.headers ?? (() => ({}));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
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

  /** Recent traces, newest first. */
  traces(query: TraceListQuery = {}, opts?: RequestOptions): Promise<TraceListResponse> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.since !== undefined) params.set("since", query.since);
    if (query.errors) params.set("errors", "true");
    const qs = params.size ? `?${params}` : "";
    return this.json("GET", `/api/traces${qs}`, TraceListResponse, undefined, opts);
  }

  /** One trace with all its spans; `id` may be "last" or a unique prefix. */
  trace(id: string, opts?: RequestOptions): Promise<TraceResponse> {
    return this.json("GET", `/api/traces/${encodeURIComponent(id)}`, TraceResponse, undefined, opts);
  }

  /** Send a request and parse its JSON answer with `schema`. */
  async json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
    opts: RequestOptions = {},
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
    opts: RequestOptions & { timeoutMs?: number } = {},
  ): Promise<Response> {
    const signals = [opts.signal, opts.timeoutMs ? AbortSignal.timeout(opts.timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const headers: Record<string, string> = { accept: "application/json", ...this.extraHeaders() };
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
