/**
 * The blob writers' threads, started ahead and reused. A worker thread took 45-90 ms to come online on this
 * project's 2-core VM (plain Node, no loader), and a file's first batches wait for it: the receiving connection's
 * ring fills (16 MiB) and reading stops until the thread runs. So one thread is started with the pull manager (a
 * daemon's start), and a thread whose file ended cleanly is kept for the next file, of the same pull or a later one,
 * instead of being stopped. A thread whose file was abandoned or failed is stopped (writes may still be in flight
 * on its loop, against descriptors about to be closed). An idle thread holds ~10 MiB and does not keep the process
 * alive.
 */
import { Worker } from "node:worker_threads";
import { BLOB_WRITER_WORKER_SOURCE } from "./blob-writer-worker.js";

export class WriterThreads {
  readonly #idle: Worker[] = [];

  /** `keepIdle`: how many finished threads wait for a next file; more are stopped. */
  constructor(private readonly keepIdle = 1) {}

  /** A thread for one file: an idle one when there is one, else a new one (which queues the file's messages). */
  take(): Worker {
    const worker = this.#idle.pop() ?? this.#spawn();
    worker.removeAllListeners("exit");
    worker.removeAllListeners("error");
    worker.ref();
    return worker;
  }

  /** Take back a thread whose file ended with `done` (nothing of that file runs on it any more). */
  give(worker: Worker): void {
    // The last owner's listeners go: the next owner, or the stop, is no business of theirs. Only these events:
    // Worker keeps listeners of its own (newListener, removeListener) that ref and unref its port.
    for (const event of ["message", "error", "exit"]) worker.removeAllListeners(event);
    if (this.#idle.length >= this.keepIdle) {
      void worker.terminate();
      return;
    }
    this.#park(worker);
  }

  /** Have a thread ready for the next file, started now if none is idle. */
  warm(): void {
    if (this.#idle.length === 0) this.#park(this.#spawn());
  }

  /** Threads waiting for a file now. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Stop the idle threads (a daemon's shutdown; tests). */
  async close(): Promise<void> {
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((w) => w.terminate()));
  }

  #spawn(): Worker {
    return new Worker(BLOB_WRITER_WORKER_SOURCE, { eval: true });
  }

  #park(worker: Worker): void {
    // A thread that dies while idle (out of memory, a crash) is dropped rather than handed out.
    worker.once("exit", () => {
      const i = this.#idle.indexOf(worker);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    worker.on("error", () => undefined);
    worker.unref();
    this.#idle.push(worker);
  }
}

/** The process's writer threads: every BlobWriter takes its thread here. */
export const writerThreads = new WriterThreads();
