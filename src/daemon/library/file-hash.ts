/**
 * Reading a local file once to learn its sha256, optionally writing a copy while reading, with progress and
 * cancellation: how imports and HF-cache reuse bring a file into the content-addressed store without reading it twice.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

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
}

/** The file's sha256 (hex) and size; with `copyTo`, a durable copy of exactly the bytes that were hashed. */
export async function hashFile(file: string, options: HashFileOptions = {}): Promise<{ sha256: string; size: number }> {
  const total = (await fs.stat(file)).size;
  const hash = createHash("sha256");
  let completed = 0;
  let last = 0;
  const interval = options.progressIntervalMs ?? 100;
  options.onProgress?.({ completed: 0, total });
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      completed += chunk.length;
      const now = performance.now();
      if (now - last >= interval) {
        last = now;
        options.onProgress?.({ completed, total });
      }
      done(null, options.copyTo ? chunk : undefined);
    },
  });
  const source = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
  if (options.copyTo) {
    await pipeline(source, meter, createWriteStream(options.copyTo), { signal: options.signal });
    // The copy becomes a blob by rename: its bytes must be on disk first, or a crash leaves a named, empty blob.
    const fh = await fs.open(options.copyTo, "r+");
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  } else {
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    await pipeline(source, meter, sink, { signal: options.signal });
  }
  options.onProgress?.({ completed, total });
  return { sha256: hash.digest("hex"), size: completed };
}
