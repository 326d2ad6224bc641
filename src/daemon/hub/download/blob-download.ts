/** One download run: the worker pool, ranged fetches with retries, writes, progress and verification. */
import fs from "node:fs/promises";
import path from "node:path";
import { RangeSet } from "./byte-ranges.js";
import { blobPath, discardPartial, partialPath } from "./blob-paths.js";
import { cancelReason, classify, StallError, WriteError, writeFailure } from "./download-failures.js";
import {
  mightSplit, newTask, recordReceived, restartSampling, splitSlowest, writeOrder, type Task,
} from "./download-task.js";
import {
  resolveDownloadOptions,
  ringBatches,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadRequest,
  type DownloadResult,
  type DownloadStats,
  type ResolvedDownloadOptions,
} from "./download-types.js";
import { checkFreeSpace } from "./free-space.js";
import { BlobWriter } from "./blob-writer.js";
import { backoffMs, sleep } from "../hf-client.js";
import { DigestMismatchError, HubError, UpstreamError } from "../hub-errors.js";
import { fsyncDir, progressPathOf, ProgressJournal, readPartialProgress } from "./partial-progress.js";
import { rangeGet, RangeProtocolError } from "../range/range-client.js";
import { withoutCredentials } from "../range/http-head.js";
import { checkRangeResponse } from "./range-response-check.js";
import { ConnectionRamp } from "./connection-ramp.js";
import { CdnAddress } from "./cdn-address.js";
import { ProgressReporter } from "./progress-reporter.js";
import { coalesceQueued, planRequests } from "./request-plan.js";

/** How often an idle connection looks for a slow one to help. */
const SPLIT_POLL_MS = 250;
/** The window over which the connections' rate is measured to decide on another one (connection-ramp.ts). */
const RAMP_WINDOW_MS = 250;

/** See downloader.ts's module comment. */
export class Download {
  readonly #req: DownloadRequest;
  readonly #o: ResolvedDownloadOptions;
  readonly #opts: DownloadOptions;
  readonly #label: string;
  readonly #expected: string;
  readonly #internal = new AbortController();
  readonly #ranges = new RangeSet();
  readonly #queue: Task[] = [];
  readonly #active = new Set<Task>();
  readonly #stats: DownloadStats;
  #file: fs.FileHandle | undefined;
  #writer: BlobWriter | undefined;
  #journal: ProgressJournal | undefined;
  #sinceCheckpoint = 0;
  readonly #progress: ProgressReporter;
  readonly #ramp: ConnectionRamp;
  /** Connections open now: their rings share `writeBuffers`. */
  #live = 0;
  /** Where requests go after the first: the CDN address the Hub redirected to (cdn-address.ts). */
  readonly #cdn: CdnAddress;

  constructor(request: DownloadRequest, options: DownloadOptions) {
    if (!request.sha256 && !request.gitSha1) throw new Error("downloadBlob needs an expected sha256 or git blob id");
    this.#req = request;
    this.#opts = options;
    this.#o = resolveDownloadOptions(options);
    // Its first window (set-up, not measured) runs from here to the first window's end.
    this.#ramp = new ConnectionRamp(this.#o.concurrency, performance.now());
    this.#cdn = new CdnAddress(request.url);
    this.#progress = new ProgressReporter(options.onProgress, this.#o.progressIntervalMs);
    this.#label = request.label ?? path.basename(new URL(request.url).pathname);
    this.#expected = request.sha256 ? `sha256:${request.sha256}` : `gitsha1:${request.gitSha1}`;
    this.#stats = {
      size: request.size, bytesDownloaded: 0, resumedFrom: 0, reused: false, retries: 0, stalls: 0, splits: 0,
      checkpoints: 0, durableCheckpoints: 0, downloadMs: 0, verifyMs: 0, hashMs: 0, hashedInMemory: 0,
      writtenDirect: 0, readBackDirect: 0, connections: 0,
    };
  }

  async run(): Promise<DownloadResult> {
    const { blobsDir } = this.#o;
    const size = this.#req.size;
    const outer = this.#opts.signal;
    if (outer?.aborted) throw cancelReason(outer);
    await fs.mkdir(blobsDir, { recursive: true });

    // Content-addressed: only verified bytes are ever renamed to this name, so the right size means the right blob.
    if (this.#req.sha256) {
      const final = blobPath(blobsDir, this.#req.sha256);
      const existing = await fs.stat(final).catch(() => undefined);
      if (existing?.size === size) {
        this.#stats.reused = true;
        this.#stats.resumedFrom = size;
        this.#emit("verifying", true);
        return { digest: `sha256:${this.#req.sha256}`, path: final, size, stats: this.#stats };
      }
    }

    const partial = partialPath(blobsDir, this.#req);
    const done = await readPartialProgress(partial, { digest: this.#expected, size });
    for (const [s, e] of done?.ranges ?? []) this.#ranges.add(s, e);
    this.#stats.resumedFrom = this.#ranges.total;
    await checkFreeSpace(size - this.#ranges.total, this.#o.blobsDir, this.#opts.statfs);

    // A partial file without a trustworthy sidecar is started over: its bytes cannot be told apart from holes.
    this.#file = await fs.open(partial, done ? "r+" : "w+");
    const onAbort = () => this.#internal.abort(outer!.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    const started = performance.now();
    try {
      // Preallocate (sparse) so chunks can be written at their offsets in any order.
      if (!done) await this.#file.truncate(size);
      this.#journal = new ProgressJournal(partial, { digest: this.#expected, size }, () => this.#ranges.toJSON(), this.#file, {
        durable: this.#o.durable,
        durableIntervalMs: this.#o.durableIntervalMs,
      });
      if (done) this.#journal.seedDurable(done.durable);
      else await this.#journal.flush();
      this.#writer = new BlobWriter(partial, size, {
        gitSha1: !this.#req.sha256,
        written: this.#ranges.toJSON(),
        hashWindowBytes: this.#o.hashWindowBytes,
        directIo: this.#o.directIo,
      });

      for (const [s, e] of planRequests(this.#ranges.missing(size), this.#o)) this.#queue.push(newTask(s, e));
      this.#emit("downloading", true);
      await this.#runWorkers();
      this.#stats.downloadMs = performance.now() - started;

      this.#emit("verifying", true);
      const verifyStart = performance.now();
      // The durable flush of the data and the hash's tail overlap: one is disk, the other a worker thread.
      const [digests] = await Promise.all([this.#writer.finish(), this.#o.durable ? this.#file.datasync() : undefined]);
      this.#stats.verifyMs = performance.now() - verifyStart;
      const { busyMs, hashedInMemory, writtenDirect, readBackDirect } = this.#writer.stats;
      Object.assign(this.#stats, { hashMs: busyMs, hashedInMemory, writtenDirect, readBackDirect });
      await this.#journal.idle();
      const actual = this.#req.sha256 ? digests.sha256 : digests.gitSha1!;
      const expected = this.#req.sha256 ?? this.#req.gitSha1!;
      if (actual !== expected) {
        await this.#closeFile();
        await discardPartial(blobsDir, this.#req);
        throw new DigestMismatchError(this.#label, expected, actual);
      }
      await this.#closeFile();
      const final = blobPath(blobsDir, digests.sha256);
      await fs.rename(partial, final);
      if (this.#o.durable) await fsyncDir(blobsDir);
      await fs.rm(progressPathOf(partial), { force: true });
      return { digest: `sha256:${digests.sha256}`, path: final, size, stats: this.#stats };
    } catch (err) {
      this.#internal.abort(err);
      await this.#writer?.close();
      this.#stats.downloadMs ||= performance.now() - started;
      if (this.#file) {
        // Keep what was written: the next attempt resumes from it.
        await this.#journal?.flush().catch(() => undefined);
        await this.#closeFile();
      }
      if (outer?.aborted) {
        if (this.#opts.discardOnCancel) await discardPartial(blobsDir, this.#req);
        throw cancelReason(outer);
      }
      throw err;
    } finally {
      outer?.removeEventListener("abort", onAbort);
      this.#stats.checkpoints = this.#journal?.saves ?? 0;
      this.#stats.durableCheckpoints = this.#journal?.durableSaves ?? 0;
    }
  }

  async #closeFile(): Promise<void> {
    const f = this.#file;
    this.#file = undefined;
    await f?.close().catch(() => undefined);
  }

  /** Run the worker pool; the first fatal error aborts the others and is rethrown once all have stopped. */
  async #runWorkers(): Promise<void> {
    let firstError: unknown;
    let allStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (allStopped = resolve));
    const worker = async (connection: number) => {
      try {
        for (;;) {
          // One more than wanted (a probe that did not pay, connection-ramp.ts) takes no more queued ranges; it may
          // still take over half of a slow connection's.
          if (this.#live > this.#ramp.wanted && this.#queue.length > 0) return;
          const task = this.#next();
          if (!task) {
            // Nothing queued: stay around while some connection might turn out slow enough to share its range.
            if (!this.#mightSplit()) return;
            try {
              await sleep(SPLIT_POLL_MS, this.#internal.signal);
            } catch {
              return;
            }
            continue;
          }
          this.#active.add(task);
          try {
            await this.#runTask(task, connection);
          } catch (err) {
            firstError ??= err;
            this.#internal.abort(err);
            return;
          } finally {
            this.#active.delete(task);
          }
          if (task.pos >= task.end) this.#journal!.request();
        }
      } finally {
        this.#ramp.closed(connection);
        if (--this.#live === 0) allStopped();
      }
    };
    let opened = 0;
    const open = () => {
      this.#live++;
      this.#stats.connections = Math.max(this.#stats.connections, this.#live);
      this.#ramp.opened(opened);
      void worker(opened++);
    };
    open();
    while (!this.#ramp.settled && this.#live > 0 && !this.#internal.signal.aborted) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((resolve) => (timer = setTimeout(resolve, RAMP_WINDOW_MS)))]);
      clearTimeout(timer);
      if (this.#live === 0) break;
      const wanted = this.#ramp.endWindow(performance.now());
      while (this.#live < wanted && (this.#queue.length > 0 || this.#mightSplit())) open();
    }
    await stopped;
    if (firstError !== undefined) throw this.#internal.signal.reason ?? firstError;
    // Cancelled as the last bytes landed: still a cancel (the caller has moved on); the complete partial resumes instantly.
    if (this.#internal.signal.aborted) throw this.#internal.signal.reason;
    if (this.#ranges.total !== this.#req.size) {
      throw new UpstreamError(`${this.#label}: download ended with ${this.#ranges.total} of ${this.#req.size} bytes`, true);
    }
  }

  /** The next queued range, or the tail half of a slow connection's (download-task.ts). */
  #next(): Task | undefined {
    if (this.#internal.signal.aborted) return undefined;
    const queued = this.#queue.shift();
    if (queued) {
      // Alone, and waiting on the disk or the hash: another connection would not help, fewer seams do.
      const alone = this.#live === 1 && this.#ramp.wanted === 1;
      if (!alone || !this.#ramp.heldBackLocally(performance.now())) return queued;
      return coalesceQueued(queued, this.#queue, this.#o.coalesceChunks * this.#o.chunkSize);
    }
    const split = splitSlowest(this.#active, this.#o.minSplitBytes);
    if (split) this.#stats.splits++;
    return split;
  }

  /** Whether any active range is still big enough to be split later. */
  #mightSplit(): boolean {
    return !this.#internal.signal.aborted && mightSplit(this.#active, this.#o.minSplitBytes);
  }

  /** Fetch one range, retrying from the last written byte until it is complete. */
  async #runTask(task: Task, connection: number): Promise<void> {
    let attempt = 0;
    while (task.pos < task.end) {
      const before = task.pos;
      const target = this.#cdn.target();
      const answer: { status?: number } = {};
      const outcome = await this.#fetchRange(task, connection, target?.url, answer).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (outcome === undefined) continue;
      if (this.#internal.signal.aborted) throw this.#internal.signal.reason;
      // Refused by the address the Hub gave earlier (a signed address expired): the Hub's answer decides, asked at
      // once and not counted. A server's failure (5xx, 429) is retried as any other.
      if (target && this.#cdn.failed(target, answer.status)) continue;
      const { retryable, error, stalled, delayMs } = classify(outcome);
      if (stalled) this.#stats.stalls++;
      if (!retryable) throw error;
      // Progress resets the budget: a flaky server that keeps delivering bytes is not a failing one.
      if (task.pos > before) attempt = 0;
      attempt++;
      if (attempt >= this.#o.maxAttempts) throw error;
      this.#stats.retries++;
      const wait = delayMs ?? backoffMs(attempt, this.#o.retryBaseMs, this.#o.retryMaxMs, this.#o.random);
      this.#opts.logger?.warn(
        { file: this.#label, range: [task.pos, task.end], attempt, wait_ms: wait, err: errorMessage(error) },
        "hub download: retrying range",
      );
      await sleep(wait, this.#internal.signal);
    }
  }

  /**
   * One attempt at the rest of `task`: from `location` (an address the Hub redirected to before) when given, else
   * from the request's URL. `answer.status` is set to the final response's status.
   */
  async #fetchRange(task: Task, connection: number, location: string | undefined, answer: { status?: number }) {
    const attempt = new AbortController();
    const signal = AbortSignal.any([this.#internal.signal, attempt.signal]);
    let stalled = false;
    let writing = 0;
    const order = writeOrder(task);
    let timer: NodeJS.Timeout | undefined;
    const armStallTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // Waiting on the disk is not a stalled connection (reading pauses while both write batches are busy).
        if (writing > 0) return armStallTimer();
        stalled = true;
        attempt.abort(new StallError(this.#o.stallTimeoutMs));
      }, this.#o.stallTimeoutMs);
    };
    restartSampling(task);
    armStallTimer();
    try {
      const url = location ?? this.#req.url;
      const sameOrigin = new URL(url).origin === new URL(this.#req.url).origin;
      await rangeGet(
        url,
        {
          onResponse: (head) => {
            answer.status = head.status;
            checkRangeResponse(head, task, this.#req, this.#label);
            this.#cdn.answered(head.url);
          },
          wanted: () => task.end - task.received,
          onBytes: (n) => {
            armStallTimer();
            this.#ramp.received(connection, n);
            recordReceived(task, n);
          },
          onWaitingForWrites: (waiting) => {
            if (waiting) this.#ramp.waitingForWrites(connection, performance.now());
            else this.#ramp.reading(connection, performance.now());
          },
          write: async (buffer, length) => {
            const position = order.place(length);
            writing++;
            try {
              const replacement = await this.#write(buffer, length, position);
              order.finished(position, length);
              return replacement;
            } finally {
              writing--;
            }
          },
        },
        {
          headers: {
            ...(sameOrigin ? this.#req.headers : withoutCredentials(this.#req.headers)),
            range: `bytes=${task.pos}-${task.end - 1}`,
            "accept-encoding": "identity",
          },
          signal,
          batchBytes: this.#o.writeBufferBytes,
          batchCount: ringBatches(this.#o.writeBuffers, this.#live),
          batches: this.#writer!,
        },
      );
      if (task.pos < task.end) {
        throw new UpstreamError(`${this.#label}: connection closed at byte ${task.pos} of range ending ${task.end}`, true);
      }
    } catch (err) {
      if (err instanceof WriteError || err instanceof HubError) throw err;
      if (stalled && !this.#internal.signal.aborted) throw new StallError(this.#o.stallTimeoutMs);
      if (err instanceof RangeProtocolError) throw new UpstreamError(`${this.#label}: ${err.message}`, err.retryable, undefined, { cause: err });
      throw err;
    } finally {
      clearTimeout(timer);
      this.#ramp.reading(connection, performance.now());
      task.received = task.pos;
    }
  }

  /** Write a batch; resolves with a replacement when the writer kept the batch to hash it later. */
  async #write(buffer: Buffer, length: number, position: number): Promise<Buffer | undefined> {
    let replacement: Buffer | undefined;
    try {
      replacement = await this.#writer!.write(buffer, length, position);
    } catch (err) {
      const needed = this.#req.size - this.#ranges.total;
      throw await writeFailure(err, { label: this.#label, needed, blobsDir: this.#o.blobsDir, statfs: this.#opts.statfs });
    }
    this.#ranges.add(position, position + length);
    this.#stats.bytesDownloaded += length;
    this.#sinceCheckpoint += length;
    if (this.#sinceCheckpoint >= this.#o.checkpointBytes) {
      this.#sinceCheckpoint = 0;
      this.#journal!.request();
    }
    this.#emit("downloading");
    return replacement;
  }

  /** Progress: the bytes on disk (all of them when the blob was already there). */
  #emit(phase: DownloadProgress["phase"], force = false): void {
    const completed = this.#stats.reused ? this.#req.size : this.#ranges.total;
    this.#progress.report(phase, completed, this.#req.size, this.#stats.bytesDownloaded, force);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
