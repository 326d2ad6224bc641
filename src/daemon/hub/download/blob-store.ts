/**
 * The content-addressed blob directory (`MLXM_HOME/blobs/sha256-<hex>`) and the one place downloads into it start.
 * Two pulls that need the same blob at once share one download instead of fighting over one partial file.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { RangeSet } from "./byte-ranges.js";
import {
  blobPath,
  discardPartial,
  downloadBlob,
  partialPath,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadRequest,
  type DownloadResult,
} from "./downloader.js";
import { HubError } from "../hub-errors.js";
import { readPartialProgress } from "./partial-progress.js";
import { freeBytes } from "./free-space.js";

/** Download tuning shared by every download of the store. */
export type BlobDownloadDefaults = Omit<DownloadOptions, "blobsDir" | "signal" | "onProgress" | "discardOnCancel">;

interface InFlight {
  promise: Promise<DownloadResult>;
  listeners: Set<(p: DownloadProgress) => void>;
}

/** See the module comment. */
export class BlobStore {
  readonly dir: string;
  readonly #defaults: BlobDownloadDefaults;
  readonly #inFlight = new Map<string, InFlight>();

  constructor(home: string, defaults: BlobDownloadDefaults = {}) {
    this.dir = path.join(home, "blobs");
    this.#defaults = defaults;
  }

  /** Path of the blob with this sha256 (whether or not it exists). */
  pathOf(sha256: string): string {
    return blobPath(this.dir, sha256);
  }

  /** Bytes of `request` already on disk: the whole size for a finished blob, else the partial's recorded ranges. */
  async bytesPresent(request: Pick<DownloadRequest, "sha256" | "gitSha1" | "size">): Promise<number> {
    if (request.sha256) {
      const st = await fs.stat(this.pathOf(request.sha256)).catch(() => undefined);
      if (st?.size === request.size) return request.size;
    }
    const expected = request.sha256 ? `sha256:${request.sha256}` : `gitsha1:${request.gitSha1}`;
    const done = await readPartialProgress(partialPath(this.dir, request), { digest: expected, size: request.size });
    return new RangeSet(done?.ranges ?? []).total;
  }

  /** Free bytes on the blobs' file system (undefined where statfs is unsupported). */
  async freeBytes(): Promise<number | undefined> {
    await fs.mkdir(this.dir, { recursive: true });
    return freeBytes(this.dir, this.#defaults.statfs);
  }

  /** Delete the partial download of `request`, unless some pull is downloading it right now (it is that pull's). */
  async discardPartial(request: Pick<DownloadRequest, "sha256" | "gitSha1">): Promise<void> {
    if (this.#inFlight.has(inFlightKey(request))) return;
    return discardPartial(this.dir, request);
  }

  /**
   * Download (or reuse) a blob. When the same blob is already downloading, wait for that download instead; if it
   * was cancelled by its own owner while this caller still wants it, start again (resuming its partial file).
   */
  async fetch(
    request: DownloadRequest,
    options: { signal?: AbortSignal; onProgress?: (p: DownloadProgress) => void } = {},
  ): Promise<DownloadResult> {
    const key = inFlightKey(request);
    for (;;) {
      const running = this.#inFlight.get(key);
      if (!running) break;
      if (options.onProgress) running.listeners.add(options.onProgress);
      try {
        return await abortable(running.promise, options.signal);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        // The owner cancelled its pull but this caller still wants the blob: start again (resuming the partial).
        if (!(err instanceof HubError && err.code === "cancelled") || this.#inFlight.get(key) === running) throw err;
      } finally {
        if (options.onProgress) running.listeners.delete(options.onProgress);
      }
    }
    const listeners = new Set<(p: DownloadProgress) => void>();
    if (options.onProgress) listeners.add(options.onProgress);
    const promise = downloadBlob(request, {
      ...this.#defaults,
      blobsDir: this.dir,
      signal: options.signal,
      onProgress: (p) => {
        for (const l of listeners) l(p);
      },
    });
    const entry: InFlight = { promise, listeners };
    this.#inFlight.set(key, entry);
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(key);
    }
  }

}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** A download's identity while it runs: its sha256, else (non-LFS files) its git blob id. */
function inFlightKey(request: Pick<DownloadRequest, "sha256" | "gitSha1">): string {
  return request.sha256 ?? `git:${request.gitSha1}`;
}
