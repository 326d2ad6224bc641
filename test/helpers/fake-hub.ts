/**
 * A real HTTP server speaking the Hugging Face Hub's API over in-memory files, for tests and benchmarks:
 * - `GET /api/models?search=&filter=gguf&sort=downloads|trendingScore|likes|lastModified&direction=-1&limit=`: the
 *   Hub's model search (a list of `{_id, id, modelId, likes, downloads, trendingScore, private, tags, library_name,
 *   createdAt, lastModified}`, no file sizes), matching the query in the repo id case-insensitively; private repos
 *   are listed only to a caller with the token, as the Hub lists its own private repos to a token's owner;
 * - `GET /api/models/{org}/{repo}[/revision/{rev}][?blobs=true]`: repo info with `sha`, `gated`, `private` and
 *   `siblings` ({rfilename, size, blobId, lfs: {sha256, size, pointerSize}} with blobs=true);
 * - `GET|HEAD /{org}/{repo}/resolve/{rev}/{path}`: LFS files answer 302 to a separate "CDN" origin with
 *   `X-Linked-Etag`, `X-Linked-Size`, `X-Repo-Commit`; small non-LFS files are served directly;
 * - Range requests (`bytes=a-b`, `bytes=a-`, `bytes=-n`) answered 206 with Content-Range, 416 when unsatisfiable;
 * - the Hub's errors: 401 `RepoNotFound` (anonymous, unknown or private repo), 404 `RepoNotFound` (with a token),
 *   401/403 `GatedRepo`, 404 `RevisionNotFound` / `EntryNotFound`, 401 for an invalid token;
 * - fault injection per file (a 5xx answer, a connection reset or a stall after N bytes, a corrupted byte) and
 *   counters of bytes and requests served per file, so tests can assert how much a resume re-fetched;
 * - CDN addresses that expire (`cdnUrlTtlMs`, `cdnUrlMaxUses`: then 403 with S3's "Request has expired", as a signed URL does), and a
 *   delay before every Hub answer (`hubLatencyMs`: the round trip to the Hub and its time to resolve a file).
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A file of a fake repository. */
export interface FakeFile {
  path: string;
  content: Buffer;
  /** Stored in LFS (served through the CDN redirect, has a sha256). Default: true. */
  lfs?: boolean;
}

/** A fake repository. */
export interface FakeRepoSpec {
  /** `org/repo`, canonical case (lookups are case-insensitive, like the Hub's). */
  id: string;
  files: FakeFile[];
  gated?: "auto" | "manual";
  private?: boolean;
  /** Commit sha of `main` (random if omitted). Other revision names can be added in `revisions`. */
  sha?: string;
  revisions?: Record<string, string>;
  /** What the search API reports (default 0). */
  downloads?: number;
  likes?: number;
  trendingScore?: number;
}

/** A fault injected into the serving of one file. `times` defaults to 1; `Infinity` makes it permanent. */
export type Fault =
  /** Once `afterBytes` of the file have been served in total, the next requests answer `status`. */
  | { kind: "status"; status: number; afterBytes?: number; times?: number; retryAfterSeconds?: number }
  /** When the served-bytes counter reaches `afterBytes`, the connection is destroyed mid-body. */
  | { kind: "reset"; afterBytes: number; times?: number }
  /** When the counter reaches `afterBytes`, the server stops sending (for `ms`, or until the client gives up). */
  | { kind: "stall"; afterBytes: number; times?: number; ms?: number }
  /** The response during which the counter reaches `afterBytes` continues at `bytesPerSecond` (a slow connection). */
  | { kind: "slow"; afterBytes: number; bytesPerSecond: number; times?: number }
  /** The byte at `offset` is served flipped, in responses that cover it. */
  | { kind: "corrupt"; offset: number; times?: number };

/** Server options. */
export interface FakeHubOptions {
  repos?: FakeRepoSpec[];
  /** The token that grants access to private and gated repos. */
  token?: string;
  /** Valid tokens that have NOT been granted access to gated/private repos (the Hub's 403 case). */
  deniedTokens?: string[];
  /** Bytes per socket write. Default 1 MiB. */
  writeSize?: number;
  /** Limit each response to this rate (bytes/s); also settable later through `throttleBytesPerSecond`. */
  throttleBytesPerSecond?: number;
}

/** One served request, for assertions. */
export interface FakeRequestLog {
  server: "hub" | "cdn";
  method: string;
  path: string;
  status: number;
  range?: string;
  authorization: boolean;
}

interface StoredFile {
  repoId: string;
  path: string;
  content: Buffer;
  lfs: boolean;
  sha256: string;
  gitSha1: string;
}

interface StoredRepo {
  spec: FakeRepoSpec;
  revisions: Map<string, string>;
  files: Map<string, StoredFile>;
}

type ActiveFault = Fault & { remaining: number };

/** See the module comment. Start with `FakeHub.start()`, stop with `close()`. */
export class FakeHub {
  readonly #repos = new Map<string, StoredRepo>();
  readonly #faults = new Map<string, ActiveFault[]>();
  readonly #bytes = new Map<string, number>();
  readonly #requests = new Map<string, number>();
  readonly #sockets = new Set<import("node:net").Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #hub: http.Server;
  readonly #cdn: http.Server;
  readonly #options: FakeHubOptions;
  /** Every request, in order. */
  readonly log: FakeRequestLog[] = [];
  /** Set when the CDN origin ever received an Authorization header (the token must stay on the Hub's origin). */
  cdnSawAuthorization = false;
  /** Per-response rate limit in bytes/s (undefined: as fast as the socket takes it). */
  throttleBytesPerSecond: number | undefined;
  /** How long a CDN address from a redirect is good for (undefined: forever); past it the CDN answers 403. */
  cdnUrlTtlMs: number | undefined;
  /** How many requests a CDN address from a redirect is good for (undefined: any number); then 403. */
  cdnUrlMaxUses: number | undefined;
  readonly #cdnUrlUses = new Map<string, number>();
  /** Delay before the Hub's origin answers each request (undefined: none). The CDN answers at once. */
  hubLatencyMs: number | undefined;
  url = "";
  cdnUrl = "";

  private constructor(options: FakeHubOptions) {
    this.#options = options;
    this.throttleBytesPerSecond = options.throttleBytesPerSecond;
    this.#hub = http.createServer((req, res) => {
      if (!this.hubLatencyMs) return this.#handleHub(req, res);
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#handleHub(req, res);
      }, this.hubLatencyMs);
      this.#timers.add(timer);
    });
    this.#cdn = http.createServer((req, res) => this.#handleCdn(req, res));
    for (const s of [this.#hub, this.#cdn]) {
      s.on("connection", (socket) => {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
      });
    }
    for (const r of options.repos ?? []) this.addRepo(r);
  }

  /** Listen on two loopback ports: the Hub and its CDN (a different origin, as in production). */
  static async start(options: FakeHubOptions = {}): Promise<FakeHub> {
    const hub = new FakeHub(options);
    hub.url = await listen(hub.#hub);
    hub.cdnUrl = await listen(hub.#cdn);
    return hub;
  }

  addRepo(spec: FakeRepoSpec): void {
    const sha = spec.sha ?? crypto.randomBytes(20).toString("hex");
    const revisions = new Map<string, string>([["main", sha], [sha, sha], ...Object.entries(spec.revisions ?? {})]);
    const files = new Map<string, StoredFile>();
    for (const f of spec.files) {
      files.set(f.path, {
        repoId: spec.id,
        path: f.path,
        content: f.content,
        lfs: f.lfs ?? true,
        sha256: sha256Hex(f.content),
        gitSha1: gitBlobSha1(f.content),
      });
    }
    this.#repos.set(spec.id.toLowerCase(), { spec: { ...spec, sha }, revisions, files });
  }

  /** The commit sha of a repo's main branch. */
  commitOf(repoId: string): string {
    return this.#repos.get(repoId.toLowerCase())!.spec.sha!;
  }

  /** Inject a fault into serving `path` of `repoId` (faults apply in the order added). */
  fault(repoId: string, path: string, fault: Fault): void {
    const key = fileKey(repoId, path);
    const list = this.#faults.get(key) ?? [];
    list.push({ ...fault, remaining: fault.times ?? 1 });
    this.#faults.set(key, list);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** Content bytes handed to sockets for this file, over all requests since the last reset. */
  bytesServed(repoId: string, path: string): number {
    return this.#bytes.get(fileKey(repoId, path)) ?? 0;
  }

  /** Content requests (GET with a body) served for this file. */
  requestsServed(repoId: string, path: string): number {
    return this.#requests.get(fileKey(repoId, path)) ?? 0;
  }

  resetCounters(): void {
    this.#bytes.clear();
    this.#requests.clear();
    this.log.length = 0;
    this.cdnSawAuthorization = false;
  }

  /** Stop both servers, cutting any open (e.g. stalled) connections. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const s of this.#sockets) s.destroy();
    await Promise.all([this.#hub, this.#cdn].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  #handleHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.url);
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const auth = this.#auth(req);
    const entry: FakeRequestLog = {
      server: "hub", method: req.method ?? "GET", path: url.pathname, status: 0,
      range: req.headers.range, authorization: auth !== "anonymous",
    };
    this.log.push(entry);
    const reply = (status: number, headers: Record<string, string> = {}, body?: string) => {
      entry.status = status;
      res.writeHead(status, { "content-type": body?.startsWith("{") ? "application/json" : "text/plain", ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const error = (status: number, code: string | undefined, message: string) =>
      reply(status, { ...(code ? { "x-error-code": code } : {}), "x-error-message": message }, JSON.stringify({ error: message }));

    if (auth === "invalid") return error(401, undefined, "Invalid credentials in Authorization header");

    if (segments[0] === "api" && segments[1] === "models" && segments.length === 2) {
      return reply(200, {}, JSON.stringify(this.#search(url, auth === "granted")));
    }

    let repoSegments: string[];
    let revision = "main";
    let filePath: string | undefined;
    let kind: "info" | "resolve";
    if (segments[0] === "api" && segments[1] === "models" && segments.length >= 4) {
      kind = "info";
      repoSegments = segments.slice(2, 4);
      if (segments[4] === "revision" && segments.length >= 6) revision = segments.slice(5).join("/");
      else if (segments.length > 4) return error(404, undefined, "Not found");
    } else if (segments.length >= 5 && segments[2] === "resolve") {
      kind = "resolve";
      repoSegments = segments.slice(0, 2);
      revision = segments[3];
      filePath = segments.slice(4).join("/");
    } else {
      return error(404, undefined, "Not found");
    }

    const repoId = repoSegments.join("/");
    const repo = this.#repos.get(repoId.toLowerCase());
    const granted = auth === "granted";
    if (!repo || (repo.spec.private && !granted)) {
      // The Hub does not reveal whether a repo exists to anonymous callers: 401 either way.
      return auth === "anonymous"
        ? error(401, "RepoNotFound", "Invalid username or password.")
        : error(404, "RepoNotFound", "Repository not found");
    }
    const sha = repo.revisions.get(revision);
    if (!sha) return error(404, "RevisionNotFound", `Invalid rev id: ${revision}`);

    if (kind === "info") {
      const blobs = url.searchParams.get("blobs") === "true";
      const body = {
        _id: crypto.createHash("md5").update(repo.spec.id).digest("hex").slice(0, 24),
        id: repo.spec.id,
        modelId: repo.spec.id,
        author: repo.spec.id.split("/")[0],
        sha,
        lastModified: "2025-01-01T00:00:00.000Z",
        private: repo.spec.private ?? false,
        gated: repo.spec.gated ?? false,
        disabled: false,
        tags: ["gguf"],
        siblings: [...repo.files.values()].map((f) =>
          blobs
            ? {
                rfilename: f.path,
                blobId: f.lfs ? gitBlobSha1(Buffer.from(lfsPointer(f))) : f.gitSha1,
                size: f.content.length,
                ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.content.length, pointerSize: lfsPointer(f).length } } : {}),
              }
            : { rfilename: f.path },
        ),
        usedStorage: [...repo.files.values()].reduce((n, f) => n + f.content.length, 0),
      };
      return reply(200, {}, JSON.stringify(body));
    }

    if (repo.spec.gated && !granted) {
      return auth === "anonymous"
        ? error(401, "GatedRepo",
            `Access to model ${repo.spec.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`)
        : error(403, "GatedRepo",
            `Access to model ${repo.spec.id} is restricted and you are not in the authorized list. Visit ${this.url}/${repo.spec.id} to ask for access.`);
    }
    const file = repo.files.get(filePath!);
    if (!file) return error(404, "EntryNotFound", "Entry not found");
    const common = { "x-repo-commit": sha, "accept-ranges": "bytes" };
    if (file.lfs) {
      const location =
        `${this.cdnUrl}/repos/${file.sha256}?repo=${encodeURIComponent(repo.spec.id)}` +
        `&file=${encodeURIComponent(file.path)}&sig=${crypto.randomBytes(8).toString("hex")}` +
        (this.cdnUrlTtlMs !== undefined ? `&expires=${Date.now() + this.cdnUrlTtlMs}` : "");
      return reply(302, {
        ...common,
        location,
        "x-linked-etag": `"${file.sha256}"`,
        "x-linked-size": String(file.content.length),
        etag: `"${gitBlobSha1(Buffer.from(lfsPointer(file)))}"`,
      }, `Found. Redirecting to ${location}`);
    }
    entry.status = this.#serveContent(req, res, file, { ...common, etag: `"${file.gitSha1}"` });
  }

  #handleCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.cdnUrl);
    if (req.headers.authorization) this.cdnSawAuthorization = true;
    const entry: FakeRequestLog = {
      server: "cdn", method: req.method ?? "GET", path: url.pathname, status: 0,
      range: req.headers.range, authorization: !!req.headers.authorization,
    };
    this.log.push(entry);
    const repo = this.#repos.get((url.searchParams.get("repo") ?? "").toLowerCase());
    const file = repo?.files.get(url.searchParams.get("file") ?? "");
    if (!file || !url.pathname.endsWith(`/${file.sha256}`)) {
      entry.status = 404;
      res.writeHead(404).end();
      return;
    }
    const expires = url.searchParams.get("expires");
    const sig = url.searchParams.get("sig") ?? "";
    const uses = (this.#cdnUrlUses.get(sig) ?? 0) + 1;
    this.#cdnUrlUses.set(sig, uses);
    if ((expires !== null && Date.now() > Number(expires)) || (this.cdnUrlMaxUses !== undefined && uses > this.cdnUrlMaxUses)) {
      entry.status = 403;
      res.writeHead(403, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`);
      return;
    }
    entry.status = this.#serveContent(req, res, file, { etag: `"${file.sha256}"` });
  }

  /** Serve a file's bytes (whole or one range) with fault injection and accounting. Returns the status. */
  #serveContent(req: http.IncomingMessage, res: http.ServerResponse, file: StoredFile, headers: Record<string, string>): number {
    const size = file.content.length;
    const key = fileKey(file.repoId, file.path);
    const faults = this.#faults.get(key) ?? [];
    const served = () => this.#bytes.get(key) ?? 0;

    const statusFault = faults.find((f) => f.kind === "status" && f.remaining > 0 && served() >= (f.afterBytes ?? 0));
    if (statusFault && statusFault.kind === "status" && req.method !== "HEAD") {
      statusFault.remaining--;
      res.writeHead(statusFault.status, {
        "content-type": "text/plain",
        ...(statusFault.retryAfterSeconds !== undefined ? { "retry-after": String(statusFault.retryAfterSeconds) } : {}),
      });
      res.end("injected failure");
      return statusFault.status;
    }

    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = parseRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      res.writeHead(416, { "content-range": `bytes */${size}` }).end();
      return 416;
    }
    if (range) {
      [start, end] = range;
      status = 206;
    }
    res.writeHead(status, {
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      "accept-ranges": "bytes",
      ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${size}` } : {}),
      ...headers,
    });
    if (req.method === "HEAD") {
      res.end();
      return status;
    }
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);

    const corrupt = faults.find((f) => f.kind === "corrupt" && f.remaining > 0 && f.offset >= start && f.offset <= end);
    if (corrupt) corrupt.remaining--;
    const writeSize = this.#options.writeSize ?? 1024 * 1024;
    let pos = start;
    let closed = false;
    res.on("close", () => {
      closed = true;
    });

    type CutFault = Extract<ActiveFault, { kind: "reset" | "stall" }>;
    const isCut = (f: ActiveFault): f is CutFault => f.kind === "reset" || f.kind === "stall";
    let slowRate: number | undefined;
    const pump = () => {
      while (!closed && pos <= end) {
        const counterNow = served();
        const slow = faults.find((f) => f.kind === "slow" && f.remaining > 0 && counterNow >= f.afterBytes);
        if (slow && slow.kind === "slow" && slowRate === undefined) {
          slow.remaining--;
          slowRate = slow.bytesPerSecond;
        }
        const rate = slowRate ?? this.throttleBytesPerSecond;
        // Throttled responses write small pieces so the rate is smooth.
        let n = Math.min(rate ? Math.min(writeSize, 64 * 1024) : writeSize, end + 1 - pos);
        // Faults triggered by the file's served-bytes counter reaching a threshold within this write.
        const counter = served();
        const cut = faults.filter(isCut).find((f) => f.remaining > 0 && f.afterBytes >= counter && f.afterBytes < counter + n);
        if (cut) n = cut.afterBytes - counter;
        if (n > 0) {
          let slice = file.content.subarray(pos, pos + n);
          if (corrupt && corrupt.kind === "corrupt" && corrupt.offset >= pos && corrupt.offset < pos + n) {
            slice = Buffer.from(slice);
            slice[corrupt.offset - pos] ^= 0xff;
          }
          this.#bytes.set(key, counter + n);
          pos += n;
          const ok = res.write(slice);
          if (!cut && rate) {
            const next = () => this.#later(pump, (n / rate) * 1000);
            if (ok) next();
            else res.once("drain", next);
            return;
          }
          if (!cut && !ok) {
            res.once("drain", pump);
            return;
          }
        }
        if (cut) {
          cut.remaining--;
          if (cut.kind === "reset") {
            // Let the bytes before the cut reach the client, then drop the connection.
            this.#later(() => res.socket?.destroy(), 20);
          } else if (cut.ms !== undefined) {
            this.#later(pump, cut.ms);
          }
          return; // a stall sends nothing more until the client gives up (or `ms` passes)
        }
      }
      if (!closed) res.end();
    };
    pump();
    return status;
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** The Hub's model search over the public repos, and the private ones for a caller with the token (their owner). */
  #search(url: URL, granted: boolean): Record<string, unknown>[] {
    const q = (url.searchParams.get("search") ?? "").toLowerCase();
    const filter = url.searchParams.get("filter");
    const sortKey = url.searchParams.get("sort") ?? "downloads";
    const limit = Number(url.searchParams.get("limit") ?? "1000");
    const value = (r: StoredRepo) =>
      sortKey === "likes" ? (r.spec.likes ?? 0) : sortKey === "trendingScore" ? (r.spec.trendingScore ?? 0) : (r.spec.downloads ?? 0);
    return [...this.#repos.values()]
      .filter((r) => (granted || !r.spec.private) && r.spec.id.toLowerCase().includes(q))
      .filter((r) => filter !== "gguf" || [...r.files.keys()].some((f) => f.endsWith(".gguf")))
      .sort((a, b) => value(b) - value(a))
      .slice(0, limit)
      .map((r) => ({
        _id: crypto.createHash("md5").update(r.spec.id).digest("hex").slice(0, 24),
        id: r.spec.id,
        likes: r.spec.likes ?? 0,
        trendingScore: r.spec.trendingScore ?? 0,
        private: r.spec.private ?? false,
        downloads: r.spec.downloads ?? 0,
        tags: ["gguf"],
        library_name: "gguf",
        createdAt: "2025-01-01T00:00:00.000Z",
        lastModified: "2025-01-02T00:00:00.000Z",
        modelId: r.spec.id,
        ...(r.spec.gated ? { gated: r.spec.gated } : {}),
      }));
  }

  #auth(req: http.IncomingMessage): "anonymous" | "granted" | "denied" | "invalid" {
    const header = req.headers.authorization;
    if (!header) return "anonymous";
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    if (token && token === this.#options.token) return "granted";
    if (token && this.#options.deniedTokens?.includes(token)) return "denied";
    return "invalid";
  }
}

/** sha256 of a buffer, hex. */
export function sha256Hex(data: Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** Git's blob id: sha1 of `blob <size>\0` + content. */
export function gitBlobSha1(data: Buffer): string {
  return crypto.createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

/** Deterministic pseudo-random bytes (fast, reproducible test data). */
export function testBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  const key = crypto.createHash("sha256").update(`mlxm-test-${seed}`).digest();
  const cipher = crypto.createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(size, 16 * 1024 * 1024));
  let pos = 0;
  while (pos < size) {
    const n = Math.min(zeros.length, size - pos);
    cipher.update(zeros.subarray(0, n)).copy(out, pos);
    pos += n;
  }
  return out;
}

function lfsPointer(f: StoredFile): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.content.length}\n`;
}

function fileKey(repoId: string, path: string): string {
  return `${repoId.toLowerCase()}/${path}`;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; multi-range requests are answered whole (undefined), as many servers do. */
function parseRange(header: string | undefined, size: number): [number, number] | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return [start, end];
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
