/**
 * Writes a blob that arrives out of order (parallel ranged chunks) and hashes it as it is written, both on one
 * worker thread, so the thread receiving the bytes only hands batches over.
 * - A batch is passed by reference: the range client's batches live in shared memory, so neither the hand-over nor
 *   the write copies a byte in JavaScript (a batch from ordinary memory is copied once).
 * - A batch that starts exactly where the hash has reached (the connection serving the lowest missing bytes) is
 *   hashed from memory right after its write. The others are recorded, and read back from the page cache and
 *   hashed once the prefix reaches them, a slice at a time between writes, so a read-back never holds up a write
 *   for long. Bytes already on disk from an earlier run (a resume) are read back the same way.
 * When the last byte lands only the tail is left to hash. Node cannot persist a hash state, so after a restart the
 * prefix is hashed again from the file.
 */
import { Worker } from "node:worker_threads";
import type { ByteRange } from "./byte-ranges.js";

/** The digests of a finished file. */
export interface FileDigests {
  sha256: string;
  /** Git blob id (sha1 of `blob <size>\0` + content), computed when asked for: it verifies non-LFS files. */
  gitSha1?: string;
}

/** Where the hashed bytes came from, and the worker's busy time (for stats and benchmarks). */
export interface BlobWriterStats {
  /** Milliseconds the worker spent writing, reading back and hashing. */
  busyMs: number;
  /** Bytes hashed straight from the batch that was written. */
  hashedInMemory: number;
  /** Bytes read back from the file to be hashed. */
  readBack: number;
}

/** A failed write, with the errno code (ENOSPC, EDQUOT, ...) kept for the caller's mapping. */
export class BlobWriteError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = "BlobWriteError";
  }
}

// Plain JavaScript run with `eval`, so it works the same from TypeScript sources (tsx) and the built package.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");
const { path, size, gitSha1, readBlock, written } = workerData;
const fd = fs.openSync(path, "r+");
const sha256 = crypto.createHash("sha256");
const sha1 = gitSha1 ? crypto.createHash("sha1").update("blob " + size + "\\0") : null;
const readBuffer = Buffer.allocUnsafeSlow(readBlock);
// Written but not yet hashed: sorted, disjoint [start, end) pairs, all beyond 'hashed'.
let pending = [];
let hashed = 0;
let busyMs = 0;
let hashedInMemory = 0;
let readBack = 0;
let stepping = false;
let finishing = false;

function update(bytes) {
  sha256.update(bytes);
  if (sha1) sha1.update(bytes);
}

function addPending(start, end) {
  let i = 0;
  while (i < pending.length && pending[i][1] < start) i++;
  let j = i;
  while (j < pending.length && pending[j][0] <= end) {
    start = Math.min(start, pending[j][0]);
    end = Math.max(end, pending[j][1]);
    j++;
  }
  pending.splice(i, j - i, [start, end]);
}

/** Read back and hash at most one slice of the written prefix; true if more is ready. */
function readBackSlice() {
  const first = pending[0];
  if (!first || first[0] > hashed) return false;
  const want = Math.min(readBlock, first[1] - hashed);
  const n = fs.readSync(fd, readBuffer, 0, want, hashed);
  if (n <= 0) throw new Error("unexpected end of file at " + hashed);
  update(n === readBuffer.length ? readBuffer : readBuffer.subarray(0, n));
  hashed += n;
  readBack += n;
  if (hashed >= first[1]) pending.shift();
  return pending.length > 0 && pending[0][0] <= hashed;
}

function fail(err) {
  parentPort.postMessage({ type: "error", message: String((err && err.message) || err) });
}

// One slice per turn of the event loop: writes queued meanwhile are handled first (messages before immediates).
function step() {
  stepping = false;
  try {
    const t = performance.now();
    const more = readBackSlice();
    busyMs += performance.now() - t;
    if (more) schedule();
    else if (finishing) done();
  } catch (err) {
    fail(err);
  }
}

function schedule() {
  if (stepping) return;
  stepping = true;
  setImmediate(step);
}

function done() {
  if (hashed !== size) return fail(new Error("hashed " + hashed + " of " + size + " bytes at the end"));
  fs.closeSync(fd);
  parentPort.postMessage({
    type: "done", sha256: sha256.digest("hex"), gitSha1: sha1 ? sha1.digest("hex") : undefined,
    stats: { busyMs, hashedInMemory, readBack },
  });
}

function write(m) {
  const t = performance.now();
  const bytes = new Uint8Array(m.buffer, m.offset, m.length);
  const end = m.position + m.length;
  try {
    for (let off = 0; off < m.length; ) off += fs.writeSync(fd, bytes, off, m.length - off, m.position + off);
  } catch (err) {
    busyMs += performance.now() - t;
    parentPort.postMessage({ type: "written", id: m.id, code: err.code, message: String(err.message || err) });
    return;
  }
  if (m.position <= hashed && end > hashed) {
    // In order: hash it now, from memory, before the sender reuses the batch.
    update(bytes.subarray(hashed - m.position));
    hashedInMemory += end - hashed;
    hashed = end;
    while (pending.length && pending[0][1] <= hashed) pending.shift();
    if (pending.length && pending[0][0] < hashed) pending[0][0] = hashed;
  } else if (m.position > hashed) {
    addPending(m.position, end);
  }
  busyMs += performance.now() - t;
  parentPort.postMessage({ type: "written", id: m.id });
  if (pending.length && pending[0][0] <= hashed) schedule();
}

for (const [s, e] of written) addPending(s, e);
schedule();
parentPort.on("message", (m) => {
  if (m.type === "write") return write(m);
  if (m.type === "finish") {
    finishing = true;
    if (!stepping) step();
  }
});
`;

type WorkerMessage =
  | { type: "written"; id: number; code?: string; message?: string }
  | { type: "done"; sha256: string; gitSha1?: string; stats: BlobWriterStats }
  | { type: "error"; message: string };

/** See the module comment. Call `close()` when abandoning it; `finish()` closes it too. */
export class BlobWriter {
  readonly #worker: Worker;
  readonly #writes = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #nextId = 0;
  #failure: Error | undefined;
  #done: Promise<FileDigests & { stats: BlobWriterStats }>;
  #closed = false;
  /** Filled in by `finish()`. */
  stats: BlobWriterStats = { busyMs: 0, hashedInMemory: 0, readBack: 0 };

  /**
   * `path` is the preallocated partial file of `size` bytes; `written` are the ranges already in it (a resume),
   * hashed from the file as the prefix reaches them.
   */
  constructor(path: string, size: number, options: { gitSha1?: boolean; written?: ByteRange[]; readBlockBytes?: number } = {}) {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path, size, gitSha1: !!options.gitSha1, written: options.written ?? [],
        // Small enough that a read-back slice delays the writes queued behind it by a few milliseconds at most.
        readBlock: options.readBlockBytes ?? 2 * 1024 * 1024,
      },
    });
    this.#done = new Promise((resolve, reject) => {
      const stop = (err: Error) => {
        this.#failure ??= err;
        for (const w of this.#writes.values()) w.reject(this.#failure);
        this.#writes.clear();
        reject(this.#failure);
      };
      this.#worker.on("message", (m: WorkerMessage) => {
        if (m.type === "written") {
          const w = this.#writes.get(m.id);
          this.#writes.delete(m.id);
          if (m.message === undefined) w?.resolve();
          else w?.reject(new BlobWriteError(m.message, m.code));
        } else if (m.type === "done") resolve({ sha256: m.sha256, gitSha1: m.gitSha1, stats: m.stats });
        else stop(new Error(`hashing failed: ${m.message}`));
      });
      this.#worker.once("error", (err) => stop(err));
      this.#worker.once("exit", () => stop(new Error("blob writer stopped")));
    });
    this.#done.catch(() => undefined);
  }

  /**
   * Write `length` bytes of `buffer` at `position`. The buffer must stay unchanged until this resolves; one in
   * shared memory is not copied. Rejects with BlobWriteError when the write fails.
   */
  write(buffer: Buffer, length: number, position: number): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new Error("blob writer closed"));
    const id = this.#nextId++;
    const shared = buffer.buffer instanceof SharedArrayBuffer;
    // Ordinary memory is copied into a buffer of its own and moved (a view would clone its whole backing store).
    const own = shared ? undefined : new Uint8Array(buffer.subarray(0, length));
    return new Promise<void>((resolve, reject) => {
      this.#writes.set(id, { resolve, reject });
      this.#worker.postMessage(
        {
          type: "write", id, position, length,
          buffer: own ? own.buffer : buffer.buffer,
          offset: own ? 0 : buffer.byteOffset,
        },
        own ? [own.buffer] : [],
      );
    });
  }

  /** Hash whatever is left up to the end of the file and return the digests. Call once every write has resolved. */
  async finish(): Promise<FileDigests> {
    if (this.#closed) throw new Error("blob writer closed");
    this.#worker.postMessage({ type: "finish" });
    try {
      const { stats, ...digests } = await this.#done;
      this.stats = stats;
      return digests;
    } finally {
      await this.close();
    }
  }

  /** Stop the worker (idempotent); writes still in flight reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker.terminate();
  }
}
