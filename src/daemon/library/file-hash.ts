/**
 * Reading a local file once to learn its sha256, optionally writing a copy while reading, with progress and
 * cancellation: how imports and HF-cache reuse bring a file into the content-addressed store without reading it twice.
 * A copy goes through the pull's blob writer (hub/download/blob-writer.ts): hashed on its worker thread while it is
 * written, past the page cache where the file system allows it. On this project's VM that copied and hashed a GiB in
 * about half the time a stream into the page cache and an fdatasync took.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BlobWriter } from "../hub/download/blob-writer.js";
import { poolParking } from "../engine/pool-parking.js";

/** Bytes per read of a copy; two are in flight, one being read while the other is written. */
const COPY_BATCH = 4 * 1024 * 1024;

export interface HashProgress {
  completed: number;
  total: number;
}

export interface HashFileOptions {
  /** Also write the bytes here (created or truncated), flushed to disk before returning. */
  copyTo?: string;
  signal?: AbortSignal;
  onProgress?: (p: HashProgress) => void;
  /** Minimum interval between progress callbacks. Default 100 ms. */
  progressIntervalMs?: number;
  /** Write the copy past the page cache where the file system allows it. Default true. */
  directIo?: boolean;
}

/** The file's sha256 (hex) and size; with `copyTo`, a durable copy of exactly the bytes that were hashed. */
export async function hashFile(file: string, options: HashFileOptions = {}): Promise<{ sha256: string; size: number }> {
  // Reading (and copying) a whole model file wants libuv's pool: no parking meanwhile (engine/pool-parking.ts).
  const stopUsingPool = poolParking.use();
  try {
    return await hashWholeFile(file, options);
  } finally {
    stopUsingPool();
  }
}

async function hashWholeFile(file: string, options: HashFileOptions): Promise<{ sha256: string; size: number }> {
  const total = (await fs.stat(file)).size;
  let last = 0;
  const interval = options.progressIntervalMs ?? 100;
  const report = (completed: number) => {
    const now = performance.now();
    if (now - last >= interval) {
      last = now;
      options.onProgress?.({ completed, total });
    }
  };
  options.onProgress?.({ completed: 0, total });
  if (options.copyTo) {
    const sha256 = await copyHashed(file, options.copyTo, total, options, report);
    options.onProgress?.({ completed: total, total });
    return { sha256, size: total };
  }
  const hash = createHash("sha256");
  let completed = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      completed += chunk.length;
      report(completed);
      done();
    },
  });
  const source = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  await pipeline(source, meter, sink, { signal: options.signal });
  options.onProgress?.({ completed, total });
  return { sha256: hash.digest("hex"), size: completed };
}

/**
 * Copy `total` bytes of `file` to `copyTo` (created or truncated) and return their sha256. The copy is flushed to
 * disk before this returns: it becomes a blob by rename, and a crash must not leave a named blob with holes.
 */
async function copyHashed(file: string, copyTo: string, total: number, options: HashFileOptions, report: (completed: number) => void): Promise<string> {
  const out = await fs.open(copyTo, "w");
  try {
    await out.truncate(total);
    const source = await fs.open(file, "r");
    const writer = new BlobWriter(copyTo, total, { directIo: options.directIo });
    try {
      // Two batches: one is read into while the other is written (and hashed, in order, on the writer's thread).
      const slots: { batch: Buffer; written?: Promise<Buffer | undefined> }[] = [
        { batch: writer.acquire(COPY_BATCH) },
        { batch: writer.acquire(COPY_BATCH) },
      ];
      for (let position = 0, i = 0; position < total; i ^= 1) {
        options.signal?.throwIfAborted();
        const slot = slots[i]!;
        // A batch the writer kept (to hash later) comes back as a replacement to read into.
        if (slot.written) slot.batch = (await slot.written) ?? slot.batch;
        const { bytesRead } = await source.read(slot.batch, 0, Math.min(COPY_BATCH, total - position), position);
        if (bytesRead === 0) throw new Error(`${file} became shorter while it was being copied`);
        slot.written = writer.write(slot.batch, bytesRead, position);
        // Awaited on the slot's next turn; a failure meanwhile (a full disk) must not count as unhandled.
        slot.written.catch(() => undefined);
        position += bytesRead;
        report(position);
      }
      await Promise.all(slots.map((s) => s.written));
      const { sha256 } = await writer.finish();
      await out.datasync();
      return sha256;
    } finally {
      await writer.close();
      await source.close();
    }
  } finally {
    await out.close();
  }
}
