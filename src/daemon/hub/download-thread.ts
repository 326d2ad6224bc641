/**
 * Runs downloads on a worker thread, so the daemon's main thread (HTTP serving, inference) does not pay for them.
 * Receiving a GiB allocates a GiB of socket buffers, and V8 answers that external memory with a major GC every
 * ~20 MiB; on the main thread each of those walks the daemon's whole heap (measured ~45 major GCs per GiB, 1.3 s of
 * pauses with a 15 MB heap, proportionally more with a loaded daemon's). In a worker with a small heap the same GCs
 * are cheap and pause nothing else. One long-lived worker serves every download of a BlobStore.
 *
 * This module is both sides: imported on the main thread it exports DownloadThread; loaded as the worker's entry it
 * serves the messages.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { downloadBlob, type DownloadOptions, type DownloadProgress, type DownloadRequest, type DownloadResult } from "./downloader.js";
import { hubErrorFromResponse, type HubRequestContext } from "./hf-client.js";
import {
  DigestMismatchError,
  GatedRepoError,
  GgufSelectionError,
  HubError,
  InsufficientStorageError,
  PullCancelledError,
  PullInterruptedError,
  RepoNotFoundError,
  UpstreamError,
} from "./hub-errors.js";

/** Where a failed answer came from, so the worker can map it to the Hub's typed errors itself. */
export interface HubErrorContext extends HubRequestContext {
  hasToken: boolean;
  endpoint: string;
}

/** A download request that can cross to the worker: no callbacks. */
export type ThreadDownloadRequest = Omit<DownloadRequest, "errorFromResponse"> & { hubContext?: HubErrorContext };

/** Options that can cross to the worker; `onProgress`, `logger` and `signal` are relayed. */
export type ThreadDownloadOptions = Omit<DownloadOptions, "statfs" | "random">;

interface SerializedError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

type ToWorker =
  | { type: "start"; id: number; request: ThreadDownloadRequest; options: Omit<ThreadDownloadOptions, "onProgress" | "logger" | "signal"> }
  | { type: "abort"; id: number };

type FromWorker =
  | { type: "progress"; id: number; progress: DownloadProgress }
  | { type: "log"; id: number; level: "debug" | "warn"; obj: unknown; msg: string }
  | { type: "done"; id: number; result: DownloadResult }
  | { type: "error"; id: number; error: SerializedError };

interface Pending {
  resolve: (r: DownloadResult) => void;
  reject: (e: unknown) => void;
  options: ThreadDownloadOptions;
  cleanup: () => void;
}

const MARKER = "mlxm-download-thread";

// The worker loads this very module by URL. From TypeScript sources (tests, `tsx`), the worker has no TypeScript
// loader of its own (module hooks are per thread), so it registers tsx first.
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (workerData.tsx) {
    const tsx = await import(workerData.tsx);
    (tsx.register ?? tsx.default.register)();
  }
  await import(workerData.moduleUrl);
})();
`;

/** A worker thread running downloads; see the module comment. Long-lived: `close()` it on shutdown. */
export class DownloadThread {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  /** Same contract as `downloadBlob`, run on the worker. */
  download(request: ThreadDownloadRequest, options: ThreadDownloadOptions): Promise<DownloadResult> {
    if (this.#closed) return Promise.reject(new PullInterruptedError("the download thread is closed"));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(cancelReason(signal));
    const worker = this.#ensureWorker();
    const id = this.#nextId++;
    return new Promise<DownloadResult>((resolve, reject) => {
      const onAbort = () => worker.postMessage({ type: "abort", id } satisfies ToWorker);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, { resolve, reject, options, cleanup: () => signal?.removeEventListener("abort", onAbort) });
      worker.ref();
      const { onProgress: _p, logger: _l, signal: _s, ...plain } = options;
      worker.postMessage({ type: "start", id, request, options: plain } satisfies ToWorker);
    });
  }

  /** Stop the worker; downloads still running are rejected (their partial files stay for a resume). */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
    this.#failAll(new PullInterruptedError("the download thread stopped"));
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const moduleUrl = import.meta.url;
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: {
        marker: MARKER,
        moduleUrl,
        tsx: moduleUrl.endsWith(".ts") ? tsxApiUrl(moduleUrl) : undefined,
      },
    });
    worker.on("message", (m: FromWorker) => this.#onMessage(m));
    worker.on("error", (err) => {
      this.#worker = undefined;
      this.#failAll(err);
    });
    worker.on("exit", () => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#failAll(new Error("the download thread exited"));
    });
    this.#worker = worker;
    return worker;
  }

  #onMessage(m: FromWorker): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    if (m.type === "progress") {
      p.options.onProgress?.(m.progress);
      return;
    }
    if (m.type === "log") {
      p.options.logger?.[m.level](m.obj as object, m.msg);
      return;
    }
    this.#pending.delete(m.id);
    p.cleanup();
    if (this.#pending.size === 0) this.#worker?.unref();
    if (m.type === "done") p.resolve(m.result);
    else if (p.options.signal?.aborted) p.reject(cancelReason(p.options.signal));
    else p.reject(reviveError(m.error));
  }

  #failAll(err: unknown): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.cleanup();
      p.reject(p.options.signal?.aborted ? cancelReason(p.options.signal) : err);
    }
  }
}

/**
 * The ESM entry of tsx's register API, for running this module from TypeScript sources. Resolved through tsx's
 * package.json because `require.resolve` would pick its CommonJS build, which cannot be imported as ESM.
 */
function tsxApiUrl(from: string): string | undefined {
  try {
    const pkgPath = createRequire(from).resolve("tsx/package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgPath, "utf8")) as { exports: Record<string, { import: { default: string } }> };
    return pathToFileURL(path.join(path.dirname(pkgPath), pkg.exports["./esm/api"].import.default)).href;
  } catch {
    return undefined;
  }
}

function cancelReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof HubError ? reason : new PullCancelledError();
}

/** Rebuild a typed error that crossed the thread boundary as plain data. */
function reviveError(e: SerializedError): Error {
  const d = e.details ?? {};
  switch (e.name) {
    case "DigestMismatchError":
      return new DigestMismatchError(String(d.file), String(d.expected), String(d.actual));
    case "InsufficientStorageError":
      return new InsufficientStorageError(Number(d.needed), Number(d.free), String(d.path));
    case "PullCancelledError":
      return new PullCancelledError(e.message, e.details);
    case "PullInterruptedError":
      return new PullInterruptedError(e.message);
    case "RepoNotFoundError":
      return new RepoNotFoundError(e.message, d);
    case "GatedRepoError":
      return new GatedRepoError(e.message, e.code === "forbidden" ? "forbidden" : "unauthorized", d);
    case "UpstreamError":
      return new UpstreamError(e.message, e.retryable ?? false, e.details);
    case "GgufSelectionError":
      return new GgufSelectionError(e.message, (e.code ?? "internal") as HubError["code"], e.details);
    default:
      if (e.code) return new HubError(e.message, e.code as HubError["code"], e.details);
      return Object.assign(new Error(e.message), { name: e.name });
  }
}

function serializeError(err: unknown): SerializedError {
  if (err instanceof HubError) {
    return {
      name: err.name,
      message: err.message,
      code: err.code,
      details: err.details,
      retryable: err instanceof UpstreamError ? err.retryable : undefined,
    };
  }
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/** The worker side: serve start/abort messages until terminated. */
function serve(): void {
  const port = parentPort!;
  const running = new Map<number, AbortController>();
  port.on("message", (m: ToWorker) => {
    if (m.type === "abort") {
      running.get(m.id)?.abort(new PullCancelledError());
      return;
    }
    const ac = new AbortController();
    running.set(m.id, ac);
    const { hubContext, ...request } = m.request;
    const post = (msg: FromWorker) => port.postMessage(msg);
    downloadBlob(
      {
        ...request,
        errorFromResponse: hubContext ? (res) => hubErrorFromResponse(res, hubContext) : undefined,
      },
      {
        ...m.options,
        signal: ac.signal,
        onProgress: (progress) => post({ type: "progress", id: m.id, progress }),
        logger: {
          debug: (obj: unknown, msg?: string) => post({ type: "log", id: m.id, level: "debug", obj, msg: msg ?? "" }),
          warn: (obj: unknown, msg?: string) => post({ type: "log", id: m.id, level: "warn", obj, msg: msg ?? "" }),
        } as DownloadOptions["logger"],
      },
    ).then(
      (result) => post({ type: "done", id: m.id, result }),
      (err: unknown) => post({ type: "error", id: m.id, error: serializeError(err) }),
    ).finally(() => running.delete(m.id));
  });
}

if (!isMainThread && (workerData as { marker?: string } | null)?.marker === MARKER) serve();
