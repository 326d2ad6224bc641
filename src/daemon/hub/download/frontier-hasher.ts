/**
 * Hashes a file that is being written out of order (parallel ranged chunks) while it is being written: a worker
 * thread reads back the contiguous prefix as it grows (from the page cache, so cheaply) and feeds a running
 * sha256. When the last byte lands only the tail is left to hash, so verification costs milliseconds instead of a
 * second pass over the whole file, and the hashing runs on another core than the one receiving the bytes.
 * Node cannot persist a hash state, so after a restart the prefix is hashed again from the file.
 */
import { Worker } from "node:worker_threads";

/** The digests of a finished file. */
export interface FileDigests {
  sha256: string;
  /** Git blob id (sha1 of `blob <size>\0` + content), computed when asked for: it verifies non-LFS files. */
  gitSha1?: string;
}

// Plain JavaScript run with `eval`, so it works the same from TypeScript sources (tsx) and the built package.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");
const { path, size, gitSha1, blockSize } = workerData;
const fd = fs.openSync(path, "r");
const sha256 = crypto.createHash("sha256");
const sha1 = gitSha1 ? crypto.createHash("sha1").update("blob " + size + "\\0") : null;
const buffer = Buffer.allocUnsafe(blockSize);
let hashed = 0;
let target = 0;
let busyMs = 0;
function run() {
  const t = performance.now();
  while (hashed < target) {
    const n = fs.readSync(fd, buffer, 0, Math.min(blockSize, target - hashed), hashed);
    if (n <= 0) throw new Error("unexpected end of file at " + hashed);
    const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
    sha256.update(chunk);
    if (sha1) sha1.update(chunk);
    hashed += n;
  }
  busyMs += performance.now() - t;
  parentPort.postMessage({ type: "progress", hashed });
}
parentPort.on("message", (m) => {
  try {
    target = Math.min(size, Math.max(target, m.target));
    run();
    if (m.type === "finish") {
      fs.closeSync(fd);
      parentPort.postMessage({ type: "done", sha256: sha256.digest("hex"), gitSha1: sha1 ? sha1.digest("hex") : undefined, busyMs });
    }
  } catch (err) {
    parentPort.postMessage({ type: "error", message: String(err && err.message || err) });
  }
});
`;

/** See the module comment. Call `close()` when abandoning it; `finish()` closes it too. */
export class FrontierHasher {
  readonly #worker: Worker;
  readonly #size: number;
  #posted = 0;
  #hashedUpTo = 0;
  #error: Error | undefined;
  #done: Promise<FileDigests & { busyMs: number }>;
  #closed = false;
  /** Milliseconds the worker spent reading and hashing. */
  hashMs = 0;

  constructor(path: string, size: number, options: { gitSha1?: boolean; blockSize?: number } = {}) {
    this.#size = size;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, size, gitSha1: !!options.gitSha1, blockSize: options.blockSize ?? 8 * 1024 * 1024 },
    });
    this.#done = new Promise((resolve, reject) => {
      this.#worker.on("message", (m: { type: string; hashed?: number; message?: string } & Partial<FileDigests> & { busyMs?: number }) => {
        if (m.type === "progress") this.#hashedUpTo = m.hashed!;
        else if (m.type === "done") resolve({ sha256: m.sha256!, gitSha1: m.gitSha1, busyMs: m.busyMs ?? 0 });
        else if (m.type === "error") {
          this.#error = new Error(`hashing failed: ${m.message}`);
          reject(this.#error);
        }
      });
      this.#worker.once("error", (err) => reject(err));
      this.#worker.once("exit", () => reject(this.#error ?? new Error("hasher stopped")));
    });
    this.#done.catch(() => undefined);
  }

  /** Bytes hashed so far (always a prefix of the file). */
  get hashedUpTo(): number {
    return this.#hashedUpTo;
  }

  /** The bytes [0, frontier) are written: hash them in the background. */
  advance(frontier: number): void {
    // Batch small advances: the worker hashes 8 MiB blocks, so one message per 8 MiB of new prefix is plenty.
    if (this.#closed || frontier <= this.#posted || (frontier - this.#posted < 8 * 1024 * 1024 && frontier < this.#size)) return;
    this.#posted = frontier;
    this.#worker.postMessage({ type: "advance", target: frontier });
  }

  /** Hash whatever is left up to the end of the file and return the digests. Call once every byte is written. */
  async finish(): Promise<FileDigests> {
    if (this.#closed) throw new Error("hasher closed");
    this.#worker.postMessage({ type: "finish", target: this.#size });
    try {
      const { busyMs, ...digests } = await this.#done;
      this.hashMs = busyMs;
      return digests;
    } finally {
      await this.close();
    }
  }

  /** Stop the worker (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker.terminate();
  }
}
