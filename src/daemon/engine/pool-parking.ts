/**
 * Parking libuv's thread pool down to one runnable thread while a single stream generates alone, so the lean loop
 * can queue each token's sample right behind its decode (direct-decode.ts, "Sampling behind the decode").
 *
 * Why. node-llama-cpp 3.21.1 decodes and samples in two jobs on libuv's pool, and has no call that does both. Each
 * token then crosses between the main thread and the pool twice. A pool that runs one job at a time, in the order
 * queued, lets the sample be queued while its decode still runs: one crossing per token is gone (~0.2 ms, 5% of a
 * small model's token on 2 cores: 3.75 against 3.96 ms per token, in-process, 24 alternating runs). A pool of one
 * thread (`UV_THREADPOOL_SIZE=1`) gives that order for good, and makes everything else wait behind decodes: other
 * models, model loads, a pull's disk writes. Parking gives it only while it pays: one request generating, nothing
 * else using the pool.
 *
 * How. All threads but one are parked in a blocking one-byte read of a private FIFO (libuv runs `fs.read` on its
 * pool; the read retries on EINTR). A probe queued after the reads (`fs.fstat`) comes back only once every read has
 * been taken by a thread, because the pool takes jobs in the order queued: from then on a single thread runs jobs,
 * in order. Releasing writes one byte per parked read. Whatever else is queued meanwhile still runs, on the one
 * thread, after at most the decode step in progress.
 *
 * The FIFO is made once, when the engine starts (`prepare()`): see there why not later.
 *
 * When. `request()` (a lean loop starts decoding tokens, its prompt evaluated, so nothing waits behind a prompt's
 * long decodes) parks when at most one user holds the pool: the loop's own request. Any other user (`use()`: another
 * request on any model, a model load, a pull, an import's hashing) releases the threads at once, or, while a sample
 * is chained behind its decode, as soon as that sample is over: a thread freed earlier could take the sample while
 * the decode still runs. `leave()` (the loop ends) releases them too. Nothing is parked on Windows, with a pool of
 * one thread, with `MLXM_POOL_PARKING=false`, or when the FIFO cannot be made; a probe not back within
 * `confirmTimeoutMs` (a pool smaller than `UV_THREADPOOL_SIZE` says) releases the threads and parks no more.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * libuv's pool size from `UV_THREADPOOL_SIZE`, parsed as libuv parses it (atoi; 0 is 1; at most 1024; default 4).
 * Undefined for a value libuv would read as negative: its pool size is then not known.
 */
export function libuvPoolSize(value: string | undefined): number | undefined {
  if (value === undefined) return 4;
  const m = /^\s*([+-]?\d+)/.exec(value);
  const n = m ? Number.parseInt(m[1]!, 10) : 0;
  if (n < 0) return undefined;
  return Math.min(Math.max(n, 1), 1024);
}

export interface PoolParkingOptions {
  /** Threads in libuv's pool in this process. */
  poolSize: number | undefined;
  /** False: never park (a pool of one thread is still in order). */
  enabled?: boolean;
  /** How long the parked reads may take to reach their threads before parking is given up for good. */
  confirmTimeoutMs?: number;
}

type State = "open" | "parking" | "parked";

export class PoolParking {
  readonly poolSize: number | undefined;
  enabled: boolean;
  /** Counts: tests, benchmarks and /metrics (mlxm_pool_parks_total) read them. */
  readonly stats = { parks: 0, releases: 0, timeouts: 0 };
  readonly #confirmTimeoutMs: number;
  #state: State = "open";
  #fd: number | undefined;
  #broken = false;
  /** Reads queued that no byte was written for yet. */
  #outstanding = 0;
  /** Users of the pool (requests, loads, pulls); a lean loop parks only when there is at most its own. */
  #users = 0;
  /** Samples queued behind their decode that are not over yet: releasing waits for them. */
  #chains = 0;
  #releaseWanted = false;
  /** Each park's number: a probe from an earlier one is ignored. */
  #epoch = 0;

  constructor(options: PoolParkingOptions) {
    this.poolSize = options.poolSize;
    this.enabled = options.enabled ?? true;
    this.#confirmTimeoutMs = options.confirmTimeoutMs ?? 5000;
  }

  /** Whether the pool runs one job at a time, in the order queued, right now. */
  ordered(): boolean {
    if (this.poolSize === 1) return true;
    return this.#state === "parked" && !this.#releaseWanted && this.#users <= 1;
  }

  /** Whether threads are parked (or being parked). */
  get parked(): boolean {
    return this.#state !== "open";
  }

  /**
   * Makes the FIFO now, before any model is loaded (the engine calls this when it starts). Making it runs `mkfifo` in
   * a child process, and forking write-protects every page the process has: made at the first park, with a model
   * loaded, it cost a page fault at the first write to each page of the KV cache afterwards. Measured on 2 CPUs
   * (bench60m, 8 sequences): a new conversation's first prompt of 1,526 tokens 0.8-0.9x the time, and copying a
   * 1,542-token cache into a new sequence ~100 ms less. The pool-parking test counts the faults.
   */
  prepare(): void {
    this.#parkable();
  }

  /** A lean loop starts generating: park the other threads when nothing else uses the pool (see `ordered()`). */
  request(): void {
    if (this.#users > 1 || !this.#parkable()) return;
    this.#releaseWanted = false;
    if (this.#state === "open") this.#park();
  }

  /** The lean loop is over: the threads go back to the pool (after a sample still chained). */
  leave(): void {
    this.#wantRelease();
  }

  /** A job queued on the pool's order: threads stay parked until it is over. */
  chained(job: Promise<unknown>): void {
    this.#chains++;
    const over = () => {
      this.#chains--;
      if (this.#releaseWanted && this.#chains === 0) this.#release();
    };
    job.then(over, over);
  }

  /** Something is going to use the pool (a request, a model load, a pull): no parking until the returned call. */
  use(): () => void {
    this.#users++;
    if (this.#users > 1) this.#wantRelease();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#users--;
    };
  }

  #parkable(): boolean {
    if (!this.enabled || this.#broken || process.platform === "win32") return false;
    if (this.poolSize === undefined || this.poolSize < 2) return false;
    if (this.#fd === undefined) this.#fd = openFifo();
    if (this.#fd === undefined) this.#broken = true;
    return !this.#broken;
  }

  #park(): void {
    const fd = this.#fd!;
    const epoch = ++this.#epoch;
    this.#state = "parking";
    this.stats.parks++;
    const byte = Buffer.alloc(1);
    for (let i = 1; i < this.poolSize!; i++) {
      this.#outstanding++;
      fs.read(fd, byte, 0, 1, null, (err) => {
        // A read ends only when a byte was written for it. An error means the FIFO is gone: park no more.
        if (err) this.#broken = true;
      });
    }
    const timer = setTimeout(() => {
      if (epoch !== this.#epoch || this.#state !== "parking") return;
      // The reads did not all reach a thread: the pool is smaller than thought, or stuck behind long jobs.
      this.stats.timeouts++;
      this.#broken = true;
      this.#release();
    }, this.#confirmTimeoutMs);
    timer.unref();
    fs.fstat(fd, () => {
      clearTimeout(timer);
      if (epoch !== this.#epoch || this.#state !== "parking") return;
      this.#state = "parked";
      if (this.#releaseWanted || this.#broken) this.#release();
    });
  }

  #wantRelease(): void {
    if (this.#state === "open") return;
    this.#releaseWanted = true;
    // While parking, nothing is chained yet (ordered() is false until the probe is back): release now.
    if (this.#state === "parking" || this.#chains === 0) this.#release();
  }

  #release(): void {
    if (this.#state === "open") return;
    this.#state = "open";
    this.#releaseWanted = false;
    this.#epoch++;
    this.stats.releases++;
    const n = this.#outstanding;
    this.#outstanding = 0;
    // At most poolSize - 1 bytes: far below a pipe's capacity, so the write never blocks.
    if (n > 0) fs.writeSync(this.#fd!, Buffer.alloc(n));
  }
}

/**
 * A FIFO opened for reading and writing (Linux and macOS open it without waiting for a peer) in blocking mode, its
 * name removed at once so nothing else can open it; undefined when that fails.
 */
function openFifo(): number | undefined {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-pool-"));
    const fifo = path.join(dir, "park");
    // Node has no mkfifo; coreutils (Linux) and macOS ship one. Once per daemon.
    execFileSync("mkfifo", ["-m", "600", fifo], { stdio: "ignore", timeout: 5000 });
    return fs.openSync(fifo, fs.constants.O_RDWR);
  } catch {
    return undefined;
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The process's pool, sized from `UV_THREADPOOL_SIZE` as this module loads: libuv reads the variable once, when its
 * pool starts, and mlxm never sets it in-process.
 */
export const poolParking = new PoolParking({ poolSize: libuvPoolSize(process.env.UV_THREADPOOL_SIZE) });
