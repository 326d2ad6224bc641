/** The public shapes of rangeGet: its response head, body receiver, options and protocol error. */

/** The head of the final (non-redirect) response. */
export interface RangeResponseHead {
  status: number;
  headers: Headers;
  /** The URL that answered, after redirects. */
  url: string;
}

/** What to do with the body. */
export interface RangeReceiver {
  /** Called with the final response's head; throw to refuse it (the connection is closed, the error rethrown). */
  onResponse(head: RangeResponseHead): void;
  /** Bytes still wanted; may shrink during the transfer. When it reaches 0 the transfer stops early. */
  wanted(): number;
  /** Bytes arrived (before they are written): for stall timers and rate measurement. */
  onBytes?(n: number): void;
  /**
   * Reading paused because every batch was busy, or the body is complete and its writes are awaited (`true`: the
   * receiver's side, its disk or hash, is what the connection waits for), and read on again, or the exchange is over
   * (`false`). Each pause is followed by its end unless the exchange fails first.
   */
  onWaitingForWrites?(waiting: boolean): void;
  /**
   * Persist a batch (backed by a SharedArrayBuffer, so it can go to a worker without a copy). Writes are issued in
   * the order of the body, each before the one before it has resolved (up to `batchCount - 1` in flight), and may
   * resolve in any order; reading pauses while every batch is busy. The receiver may keep the batch by resolving
   * with a replacement of the same size, which is filled from then on.
   */
  write(buffer: Buffer, length: number): Promise<Buffer | void>;
}

/** Reusable write batches, all backed by SharedArrayBuffers. */
export interface BatchPool {
  acquire(size: number): Buffer;
  /** The request is done with it (its last write has resolved). */
  release(batch: Buffer): void;
}

/** Request options. */
export interface RangeGetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Size of each write batch. Default 1 MiB. */
  batchBytes?: number;
  /** Batches per request, in a ring: one fills while the others may be in flight to disk. Default (and at least) 2. */
  batchCount?: number;
  /**
   * Where batches come from and go back to when the request is over (default: fresh shared memory, left to the GC).
   * A pool lets a receiver that hands batches to a worker register each buffer with it once.
   */
  batches?: BatchPool;
  maxRedirects?: number;
  /** Extra trust for TLS (a private CA); the system's CAs are always trusted. */
  ca?: string | Buffer;
}

/** A protocol-level failure (bad status line, unsupported encoding, closed early): retrying may help. */
export class RangeProtocolError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "RangeProtocolError";
  }
}
