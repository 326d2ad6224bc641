/**
 * Writes a blob that arrives out of order (parallel ranged chunks) and hashes it as it is written, on one worker
 * thread (the writes themselves on the thread pool, one or two at a time, issued before the batch is hashed so the
 * two overlap), so the thread receiving the bytes only hands batches over. The thread comes from writerThreads:
 * started ahead, and kept for the next file once this one is done.
 * - A batch is passed by reference: the range client's batches live in shared memory, so neither the hand-over nor
 *   the write copies a byte in JavaScript (a batch from ordinary memory is copied once). The writer is also the
 *   range client's batch pool: its batches are cut from 16 MiB shared slabs and reused, so the worker is sent each
 *   slab once and then only numbers (a message carrying a SharedArrayBuffer costs ~0.15 ms).
 * - A batch that follows, without a gap, the bytes that arrived before it (hashed or not) is hashed from memory
 *   while it is written, a slice per turn of the worker's event loop, so the completions of other writes are not kept
 *   waiting behind a whole batch's hash (that kept one connection's writes from ever overlapping). It is answered
 *   once written and hashed: until then its sender fills other batches, and pauses when it has none. The rest
 *   (batches that arrive ahead of a gap, and bytes already on disk from an earlier run) are read back once the prefix
 *   reaches them, a slice at a time between writes. A batch right after bytes still to be read back waits for them
 *   in memory instead of being read back itself: otherwise a connection that once fell behind the hash would have
 *   every later batch read back.
 * - Past the page cache (below), read-backs are too: O_DIRECT reads on the thread pool into two reused page-aligned
 *   buffers, the next slice read while the last one is hashed, so reading back costs the worker thread next to
 *   nothing. Through the page cache, a read-back costs about as much CPU as hashing on a small machine (measured:
 *   0.75 s/GiB read back vs 1.1 s/GiB sha256 on 2 shared cores), so there a batch that arrives ahead, within
 *   `hashWindowBytes` of the hashed prefix, is kept instead (the sender gets a spare batch to fill) and hashed from
 *   memory when the prefix reaches it. Past the page cache nothing is kept: the memory those batches take is fresh
 *   (up to the window, 256 MiB by default), and faulting it in page by page cost the receiving thread more than the
 *   reads cost the worker. Measured on a 1 GiB pull (4 x 64 MiB chunks, loopback, 2 cores, alternating): 82,000-87,000
 *   page faults, 3.1-4.3 s of CPU and a 325 MiB peak RSS keeping batches; 33,000-36,000, 2.2-3.4 s and 156 MiB
 *   reading back past the cache (0.9 GiB of it, so the device reads almost as much as it writes: a trade for a disk
 *   far faster than the network, as a pull's usually is).
 * When the last byte lands only the tail is left to hash. Node cannot persist a hash state, so after a restart the
 * prefix is hashed again from the file.
 *
 * Writes bypass the page cache (O_DIRECT, Linux) where the file system allows it and the batch, its offset and its
 * length are page-aligned, as full batches from the slabs are (direct-io.ts); the rest goes through the page
 * cache as before. Measured on this project's 2-core VM with 1 MiB writes (one in flight) into a sparse 1 GiB file:
 * 0.43-0.50 s to the device with O_DIRECT, against 0.77-1.47 s into the page cache plus 0.3 s of fdatasync. Copying
 * into the page cache was the pull's largest CPU cost (perf: copy_folio_from_iter_atomic), and a durable pull paid
 * for the writeback on top. Bytes written this way are on the device when the write returns; the fdatasync calls
 * that make them durable stay, and cost next to nothing now.
 */
import fs from "node:fs";
import type { Worker } from "node:worker_threads";
import type { ByteRange } from "./byte-ranges.js";
import { ALIGNED_MEMORY_UNIT, DIRECT_IO_ALIGN, alignedSharedMemory, openDirect } from "./direct-io.js";
import { writerThreads } from "./writer-threads.js";

/** Batches are cut from shared slabs of this size (each is sent to the worker once). */
const SLAB_BYTES = 16 * 1024 * 1024;

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
  /** Of those, bytes read past the page cache (O_DIRECT). */
  readBackDirect: number;
  /** Bytes written past the page cache (O_DIRECT). */
  writtenDirect: number;
}

/** A failed write, with the errno code (ENOSPC, EDQUOT, ...) kept for the caller's mapping. */
export class BlobWriteError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = "BlobWriteError";
  }
}


type WorkerMessage =
  | { type: "written"; id: number; kept?: boolean; code?: string; message?: string }
  | { type: "released"; id: number }
  | { type: "done"; sha256: string; gitSha1?: string; stats: BlobWriterStats }
  | { type: "error"; message: string };

/** See the module comment. Call `close()` when abandoning it; `finish()` closes it too. */
export class BlobWriter {
  readonly #worker: Worker;
  readonly #writes = new Map<number, { buffer: Buffer; resolve: (replacement: Buffer | undefined) => void; reject: (err: Error) => void }>();
  /** Batches the worker kept, by write id, and batches it gave back, ready to be handed out again. */
  readonly #kept = new Map<number, Buffer>();
  readonly #spare: Buffer[] = [];
  /** Slabs (shared buffers) the worker already knows, by the id it knows them by. */
  readonly #slabIds = new WeakMap<ArrayBufferLike, number>();
  /** Slabs that start on a page boundary: full batches from them can be written with O_DIRECT. */
  readonly #alignedSlabs = new WeakSet<ArrayBufferLike>();
  #nextSlabId = 0;
  /** Batches this writer handed out, and the slab the next ones are cut from. */
  readonly #pooled = new WeakSet<Buffer>();
  #slab: SharedArrayBuffer | undefined;
  #slabUsed = 0;
  #nextId = 0;
  #failure: Error | undefined;
  #done: Promise<FileDigests & { stats: BlobWriterStats }>;
  #closed = false;
  /** The worker sent `done`: its thread goes back to writerThreads for the next file instead of being stopped. */
  #ended = false;
  /** The file, and the same file opened with O_DIRECT (-1 without): opened here, closed once the worker is gone. */
  readonly #fd: number;
  readonly #directFd: number;
  /** Filled in by `finish()`. */
  stats: BlobWriterStats = { busyMs: 0, hashedInMemory: 0, readBack: 0, readBackDirect: 0, writtenDirect: 0 };

  /**
   * `path` is the preallocated partial file of `size` bytes; `written` are the ranges already in it (a resume),
   * hashed from the file as the prefix reaches them. Batches ending less than `hashWindowBytes` beyond the hashed
   * prefix are kept until the hash reaches them (so at most that much memory is held); the others are read back.
   * `directIo` (default true) writes aligned batches past the page cache where the file system allows it, and then
   * reads back past it too, keeping nothing (`hashWindowBytes` applies only through the page cache).
   */
  constructor(
    path: string,
    size: number,
    options: { gitSha1?: boolean; written?: ByteRange[]; readBlockBytes?: number; hashWindowBytes?: number; directIo?: boolean } = {},
  ) {
    this.#fd = fs.openSync(path, "r+");
    this.#directFd = options.directIo === false ? -1 : openDirect(path);
    // Small enough that a read-back slice delays the writes queued behind it by a few milliseconds at most.
    const readBlock = options.readBlockBytes ?? 2 * 1024 * 1024;
    this.#worker = writerThreads.take();
    this.#worker.postMessage({
      type: "open",
      data: {
        fd: this.#fd, directFd: this.#directFd, align: DIRECT_IO_ALIGN,
        size, gitSha1: !!options.gitSha1, written: options.written ?? [],
        readBlock,
        window: options.hashWindowBytes ?? 0,
        directReadBuffers: this.#directFd >= 0 ? directReadBuffers(readBlock) : undefined,
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
        if (m.type === "written") this.#settle(m);
        else if (m.type === "released") {
          const buffer = this.#kept.get(m.id);
          this.#kept.delete(m.id);
          if (buffer) this.#spare.push(buffer);
        } else if (m.type === "done") {
          // The file ended on the thread: nothing of it runs there any more, so the thread can take the next file.
          this.#ended = true;
          resolve({ sha256: m.sha256, gitSha1: m.gitSha1, stats: m.stats });
        } else stop(new Error(`hashing failed: ${m.message}`));
      });
      this.#worker.once("error", (err) => stop(err));
      this.#worker.once("exit", () => stop(new Error("blob writer stopped")));
    });
    this.#done.catch(() => undefined);
  }

  #settle(m: Extract<WorkerMessage, { type: "written" }>): void {
    const w = this.#writes.get(m.id);
    this.#writes.delete(m.id);
    if (!w) return;
    if (m.message !== undefined) return w.reject(new BlobWriteError(m.message, m.code));
    if (!m.kept) return w.resolve(undefined);
    // The worker holds this batch until the hash reaches it: the sender fills another one meanwhile.
    this.#kept.set(m.id, w.buffer);
    w.resolve(this.acquire(w.buffer.length));
  }

  /**
   * A batch of shared memory to fill and write (the range client's batch pool): a spare one when there is one, else
   * a slice of a slab, so the worker learns each slab once rather than every batch. Hand it back with `release`
   * once its last write has resolved.
   */
  acquire(size: number): Buffer {
    const spare = this.#spare.findIndex((b) => b.length === size);
    if (spare >= 0) return this.#spare.splice(spare, 1)[0];
    if (size > SLAB_BYTES / 2) return this.#own(Buffer.from(this.#newSlab(Math.ceil(size / ALIGNED_MEMORY_UNIT) * ALIGNED_MEMORY_UNIT), 0, size));
    if (!this.#slab || this.#slabUsed + size > this.#slab.byteLength) {
      this.#slab = this.#newSlab(SLAB_BYTES);
      this.#slabUsed = 0;
    }
    const batch = Buffer.from(this.#slab, this.#slabUsed, size);
    this.#slabUsed += size;
    return this.#own(batch);
  }

  #newSlab(bytes: number): SharedArrayBuffer {
    const { buffer, aligned } = alignedSharedMemory(bytes);
    if (aligned) this.#alignedSlabs.add(buffer);
    return buffer;
  }

  release(batch: Buffer): void {
    // Only batches handed out here are reused: anything else belongs to its owner.
    if (this.#pooled.has(batch)) this.#spare.push(batch);
  }

  #own(batch: Buffer): Buffer {
    this.#pooled.add(batch);
    return batch;
  }

  /**
   * Write `length` bytes of `buffer` at `position`. The buffer must stay unchanged until this resolves; one in
   * shared memory is not copied. Resolves with a replacement of the same size when the worker kept the buffer
   * (it must then be left alone); rejects with BlobWriteError when the write fails.
   */
  write(buffer: Buffer, length: number, position: number): Promise<Buffer | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new Error("blob writer closed"));
    const id = this.#nextId++;
    const shared = buffer.buffer instanceof SharedArrayBuffer;
    // Ordinary memory is copied into a buffer of its own and moved (a view would clone its whole backing store).
    const own = shared ? undefined : new Uint8Array(buffer.subarray(0, length));
    let slab: number | undefined;
    let send: ArrayBufferLike | undefined = own ? own.buffer : buffer.buffer;
    // Only this writer's own batches are registered with the worker (their number is bounded); any other shared
    // buffer travels with its message each time, so the worker never accumulates buffers nobody reuses.
    if (shared && this.#pooled.has(buffer)) {
      slab = this.#slabIds.get(buffer.buffer);
      if (slab === undefined) this.#slabIds.set(buffer.buffer, (slab = this.#nextSlabId++));
      else send = undefined;
    }
    return new Promise<Buffer | undefined>((resolve, reject) => {
      this.#writes.set(id, { buffer, resolve, reject });
      this.#worker.postMessage(
        {
          type: "write", id, position, length, shared, slab, buffer: send, offset: own ? 0 : buffer.byteOffset,
          aligned: slab !== undefined && this.#alignedSlabs.has(buffer.buffer),
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

  /**
   * Let the thread go (idempotent): back to writerThreads once the file is done, else stopped, and writes still in
   * flight reject. The files close once no write of theirs can run.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#ended) writerThreads.give(this.#worker);
      else await this.#worker.terminate();
    } finally {
      // The worker's writes ran on its own loop: all had completed before 'done', and the others end with the
      // stopped worker, so none can reach a reused descriptor number.
      fs.closeSync(this.#fd);
      if (this.#directFd >= 0) fs.closeSync(this.#directFd);
    }
  }
}

/**
 * Two page-aligned buffers for reading back past the page cache, each a page longer than a slice (a read starts at
 * the page holding the hashed prefix's end); undefined where aligned memory cannot be had (read back through the cache).
 */
function directReadBuffers(readBlock: number): SharedArrayBuffer[] | undefined {
  const bytes = Math.ceil((readBlock + DIRECT_IO_ALIGN) / ALIGNED_MEMORY_UNIT) * ALIGNED_MEMORY_UNIT;
  const buffers = [alignedSharedMemory(bytes), alignedSharedMemory(bytes)];
  return buffers.every((b) => b.aligned) ? buffers.map((b) => b.buffer) : undefined;
}
