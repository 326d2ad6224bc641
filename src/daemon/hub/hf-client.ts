/**
 * A small client for the Hugging Face Hub's HTTP API: repository info with file sizes and LFS digests, file URLs,
 * file metadata, and the Hub's error headers turned into typed errors. Only the base URL changes between the real
 * Hub and a test server (`HF_ENDPOINT`). The token goes in `Authorization: Bearer` to the Hub's own origin only and
 * never into an error, a log line or a URL.
 */
import { z } from "zod";
import {
  GatedRepoError,
  HubError,
  RepoNotFoundError,
  UpstreamError,
} from "./hub-errors.js";

/** The Hub itself; HF_ENDPOINT overrides it (mirrors, tests). */
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** Constructor options; `fetch` is injectable for tests, everything else mirrors huggingface_hub. */
export interface HubClientOptions {
  /** Base URL, e.g. https://huggingface.co (HF_ENDPOINT). */
  endpoint?: string;
  /** HF_TOKEN; optional. */
  token?: string;
  /** For the metadata requests (tests inject failures); file bytes go through the downloader's own client. */
  fetch?: typeof fetch;
  userAgent?: string;
  /** Timeout of metadata requests (not downloads). */
  timeoutMs?: number;
  /** Attempts for metadata requests that fail with a network error, 429 or 5xx. */
  attempts?: number;
}

/** One file of a repository revision. */
export interface RepoFile {
  /** Path inside the repo (the Hub's `rfilename`). */
  path: string;
  size: number;
  /** Git blob id (sha1 of `blob <size>\0<content>`), which verifies files not stored in LFS. */
  blobId?: string;
  /** Present for LFS files: their sha256, which is what mlxm verifies and names blobs by. */
  lfs?: { sha256: string; size: number; pointerSize?: number };
}

/** A repository at one revision. */
export interface RepoInfo {
  /** Canonical `org/repo` (case as the Hub spells it). */
  id: string;
  /** The commit sha the revision resolved to; pulls download from this sha so files of one model match. */
  sha: string;
  /** The revision asked for. */
  revision: string;
  gated: false | "auto" | "manual";
  private: boolean;
  files: RepoFile[];
}

/** What a HEAD on a file's resolve URL tells (huggingface_hub's get_hf_file_metadata). */
export interface FileMetadata {
  commit?: string;
  /** For LFS files the sha256 (X-Linked-Etag), otherwise the git blob id. */
  etag?: string;
  size?: number;
  /** Where the content lives (the CDN) when the Hub redirects. */
  location?: string;
}

/** Context for error messages. */
export interface HubRequestContext {
  repo: string;
  revision?: string;
  file?: string;
}

/**
 * The Hub's answers become file names and blob paths, so they are checked before use: digests are hex of the
 * right length, and repo paths are relative, without `..`, backslashes or control characters.
 */
const HubPath = z.string().min(1).max(1024).refine(
  (p) => !p.startsWith("/") && !p.includes("\\") && !/[\u0000-\u001f]/.test(p) && p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".."),
  "not a safe relative path",
);
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "not a sha256");
const GitBlobId = z.string().regex(/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/, "not a git object id");
const Size = z.number().int().min(0).max(2 ** 50);
const SiblingSchema = z.object({
  rfilename: HubPath,
  size: Size.optional(),
  blobId: GitBlobId.optional(),
  lfs: z.object({ sha256: Sha256Hex, size: Size, pointerSize: z.number().optional() }).nullish(),
});
const RepoInfoSchema = z.object({
  id: z.string(),
  sha: z.string(),
  gated: z.union([z.boolean(), z.string()]).optional(),
  private: z.boolean().optional(),
  siblings: z.array(SiblingSchema).default([]),
});

/** Client of one Hub endpoint with one (optional) token. */
export class HubClient {
  readonly endpoint: string;
  readonly #fetch: typeof fetch;
  readonly #token: string | undefined;
  readonly #origin: string;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #options: HubClientOptions;

  constructor(options: HubClientOptions = {}) {
    this.#options = options;
    this.endpoint = (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, "");
    this.#origin = new URL(this.endpoint).origin;
    this.#token = options.token || undefined;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#userAgent = options.userAgent ?? "mlxm";
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#attempts = options.attempts ?? 3;
  }

  /**
   * The client a caller's request asks the Hub with: the same endpoint and settings with the caller's own token when
   * it brought one (X-HF-Token), else this one (the daemon's HF_TOKEN).
   */
  forCaller(token: string | undefined): HubClient {
    return token ? new HubClient({ ...this.#options, token }) : this;
  }

  /** Whether a token is configured (the token itself is never exposed). */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /**
   * Headers for a request to `url`: the token only when the URL is on the Hub's own origin, so it never leaks to a
   * CDN or a third party (the downloader also drops Authorization when a redirect leaves the origin).
   */
  headersFor(url: string): Record<string, string> {
    const headers: Record<string, string> = { "user-agent": this.#userAgent };
    if (this.#token && new URL(url).origin === this.#origin) headers.authorization = `Bearer ${this.#token}`;
    return headers;
  }

  /** `GET /api/models/{repo}/revision/{revision}?blobs=true`: files with sizes and LFS sha256, and the commit sha. */
  async repoInfo(repo: string, revision = "main", options: { signal?: AbortSignal } = {}): Promise<RepoInfo> {
    const url = `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const res = await this.#request(url, { method: "GET", signal: options.signal }, { repo, revision });
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new UpstreamError(`the Hub answered ${repo} info with invalid JSON`, true, { repo }, { cause: err });
    }
    const parsed = RepoInfoSchema.safeParse(body);
    if (!parsed.success) {
      throw new UpstreamError(`unexpected repository info for ${repo}: ${parsed.error.issues[0]?.message ?? ""}`, false, { repo });
    }
    const info = parsed.data;
    return {
      id: info.id,
      sha: info.sha,
      revision,
      gated: info.gated === "auto" || info.gated === "manual" ? info.gated : info.gated === true ? "auto" : false,
      private: info.private ?? false,
      files: info.siblings.map((s) => ({
        path: s.rfilename,
        size: s.lfs?.size ?? s.size ?? 0,
        blobId: s.blobId,
        lfs: s.lfs ?? undefined,
      })),
    };
  }

  /** The resolve URL of a file; path segments are encoded, slashes kept (`/{repo}/resolve/{revision}/{path}`). */
  fileUrl(repo: string, revision: string, path: string): string {
    const encodedPath = path.split("/").map(encodeURIComponent).join("/");
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  }

  /**
   * HEAD the resolve URL without following the CDN redirect (relative redirects, as for renamed repos, are followed).
   * Answers early whether the file is reachable with the current token: gated repos fail here, before any byte.
   */
  async fileMetadata(repo: string, revision: string, path: string, options: { signal?: AbortSignal } = {}): Promise<FileMetadata> {
    let url = this.fileUrl(repo, revision, path);
    const ctx = { repo, revision, file: path };
    for (let hop = 0; hop < 5; hop++) {
      const res = await this.#request(url, { method: "HEAD", redirect: "manual", signal: options.signal }, ctx, true);
      const location = res.headers.get("location") ?? undefined;
      const linkedEtag = res.headers.get("x-linked-etag");
      if (res.status >= 300 && res.status < 400 && location && !linkedEtag && location.startsWith("/")) {
        url = new URL(location, url).toString();
        continue;
      }
      const etag = (linkedEtag ?? res.headers.get("etag") ?? undefined)?.replace(/^W\//, "").replace(/"/g, "");
      const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length") ?? NaN);
      return {
        commit: res.headers.get("x-repo-commit") ?? undefined,
        etag,
        size: Number.isFinite(size) ? size : undefined,
        location: location ? new URL(location, url).toString() : undefined,
      };
    }
    throw new UpstreamError(`too many redirects resolving ${path} in ${repo}`, false, ctx);
  }

  /** Turn a failed Hub response into a typed error (huggingface_hub's hf_raise_for_status, same header rules). */
  errorFromResponse(res: Response, ctx: HubRequestContext): HubError {
    return hubErrorFromResponse(res, { ...ctx, hasToken: this.hasToken, endpoint: this.endpoint });
  }

  async #request(
    url: string,
    init: RequestInit,
    ctx: HubRequestContext,
    acceptRedirect = false,
  ): Promise<Response> {
    let lastError: HubError | undefined;
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await this.#fetch(url, { ...init, signal, headers: { ...this.headersFor(url), "accept-encoding": "identity" } });
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        lastError = new UpstreamError(`could not reach ${new URL(url).host}: ${describeFetchError(err)}`, true, { ...ctx }, { cause: err });
        await sleep(backoffMs(attempt, 250, 4000), init.signal ?? undefined);
        continue;
      }
      if (res.ok || (acceptRedirect && res.status >= 300 && res.status < 400)) return res;
      const error = this.errorFromResponse(res, ctx);
      await res.body?.cancel().catch(() => undefined);
      if (!(error instanceof UpstreamError && error.retryable)) throw error;
      lastError = error;
      await sleep(retryAfterMs(res) ?? backoffMs(attempt, 250, 4000), init.signal ?? undefined);
    }
    throw lastError ?? new UpstreamError("request failed", true, { ...ctx });
  }
}

/** Map a Hub response's status and `X-Error-Code` / `X-Error-Message` headers to a typed error. */
export function hubErrorFromResponse(
  res: Response,
  ctx: HubRequestContext & { hasToken: boolean; endpoint: string },
): HubError {
  const code = res.headers.get("x-error-code");
  const hubMessage = res.headers.get("x-error-message") ?? undefined;
  const details: Record<string, unknown> = { repo: ctx.repo, status: res.status };
  if (ctx.revision) details.revision = ctx.revision;
  if (ctx.file) details.file = ctx.file;
  if (hubMessage) details.hub_message = hubMessage;
  const repoUrl = `${ctx.endpoint}/${ctx.repo}`;
  // The Hub refused, not the daemon: the CLI must not send the user to MLXM_API_KEY (its exit code 6 and hint).
  const refusal = { ...details, refused_by: "hub" };

  if (code === "GatedRepo") {
    if (!ctx.hasToken || res.status === 401) {
      return new GatedRepoError(
        `${ctx.repo} is a gated model: accept its terms at ${repoUrl}, then set HF_TOKEN to a token of that account` +
          (ctx.hasToken ? " (the Hub did not accept the current HF_TOKEN for it)" : ""),
        "unauthorized",
        refusal,
      );
    }
    return new GatedRepoError(
      `HF_TOKEN has no access to the gated model ${ctx.repo}: request access at ${repoUrl}`,
      "forbidden",
      refusal,
    );
  }
  if (code === "RevisionNotFound") {
    return new RepoNotFoundError(`revision "${ctx.revision}" not found in ${ctx.repo}`, details);
  }
  if (code === "EntryNotFound") {
    return new RepoNotFoundError(`file ${ctx.file ?? ""} not found in ${ctx.repo}@${ctx.revision ?? "main"}`, details);
  }
  const invalidCredentials = res.status === 401 && hubMessage === "Invalid credentials in Authorization header";
  if (invalidCredentials) {
    return new HubError("the Hub rejected HF_TOKEN (invalid or expired token)", "unauthorized", refusal);
  }
  // Like huggingface_hub: the Hub answers 401 RepoNotFound for missing AND private repos when anonymous.
  if (code === "RepoNotFound" || res.status === 401 || res.status === 404) {
    const hint = ctx.hasToken ? "" : " (if it is private or gated, set HF_TOKEN)";
    return new RepoNotFoundError(`repository ${ctx.repo} not found on ${new URL(ctx.endpoint).host}${hint}`, details);
  }
  if (res.status === 403) {
    return new HubError(`the Hub refused access to ${ctx.repo}${hubMessage ? `: ${hubMessage}` : ""}`, "forbidden", refusal);
  }
  if (res.status === 429 || res.status >= 500) {
    const retryAfter = retryAfterMs(res);
    if (retryAfter !== undefined) details.retry_after_ms = retryAfter;
    return new UpstreamError(`the Hub answered HTTP ${res.status} for ${ctx.file ?? ctx.repo}`, true, details);
  }
  return new UpstreamError(`the Hub answered HTTP ${res.status} for ${ctx.file ?? ctx.repo}`, false, details);
}

/** Delay from a `Retry-After` header (seconds or HTTP date), capped at a minute. */
export function retryAfterMs(res: Response): number | undefined {
  const value = res.headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : undefined;
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half random: full jitter can pick ~0 and hammer a struggling server; this keeps a floor.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Sleep that ends early (rejecting with the signal's reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A network error's useful part (undici hides the errno in `cause`). */
export function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    const own = (err as NodeJS.ErrnoException).code;
    if (own) return `${own} (${err.message})`;
    const cause = err.cause as { code?: string; message?: string } | undefined;
    if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
    return cause?.message ?? err.message;
  }
  return String(err);
}
