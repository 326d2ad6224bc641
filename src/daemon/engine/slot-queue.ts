/**
 * Admission for one loaded model: up to `slots` requests run at once (one context sequence each); beyond that a
 * bounded FIFO queue, like Ollama's per-runner queue. Pure bookkeeping, no timers: the pool decides what a full
 * queue means to the caller.
 */

/** Thrown by {@link SlotQueue.acquire} when the queue is full; the pool turns it into a 429 `queue_full`. */
export class QueueFullError extends Error {
  constructor(readonly queued: number) {
    super(`the queue is full (${queued} waiting)`);
    this.name = "QueueFullError";
  }
}

/** Thrown when a queued request's signal aborts before it got a slot. */
export class QueueAbortedError extends Error {
  constructor() {
    super("the request was cancelled while waiting in the queue");
    this.name = "QueueAbortedError";
  }
}

interface Waiter {
  resolve(release: () => void): void;
  reject(err: unknown): void;
  cleanup(): void;
}

export class SlotQueue {
  #active = 0;
  readonly #waiting: Waiter[] = [];
  /** Exponentially weighted mean of how long a slot is held, for Retry-After estimates. */
  #meanHoldMs: number | undefined;

  constructor(
    readonly slots: number,
    readonly maxQueue: number,
    private readonly onChange: () => void = () => {},
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  get idle(): boolean {
    return this.#active === 0 && this.#waiting.length === 0;
  }

  /** True when a new request would be refused. */
  get full(): boolean {
    return this.#active >= this.slots && this.#waiting.length >= this.maxQueue;
  }

  /**
   * A slot: at once when one is free, else after the requests queued before this one. Rejects with
   * {@link QueueFullError} when the queue is full and with {@link QueueAbortedError} when `signal` aborts first.
   * The returned function gives the slot back (idempotent).
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new QueueAbortedError());
    if (this.#active < this.slots) {
      this.#active++;
      this.onChange();
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.maxQueue) return Promise.reject(new QueueFullError(this.#waiting.length));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        waiter.cleanup();
        this.onChange();
        reject(new QueueAbortedError());
      };
      const waiter: Waiter = { resolve, reject, cleanup: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
      this.onChange();
    });
  }

  /** Rejects every queued request with `err` (shutdown, unload failure). Active slots are left to finish. */
  rejectQueued(err: unknown): void {
    for (const waiter of this.#waiting.splice(0)) {
      waiter.cleanup();
      waiter.reject(err);
    }
    this.onChange();
  }

  /** Seconds a caller refused now should wait: queued work ahead of it divided among the slots, at least 1. */
  retryAfterSeconds(): number {
    const mean = this.#meanHoldMs ?? 1000;
    const seconds = Math.ceil(((this.#waiting.length + 1) * mean) / this.slots / 1000);
    return Math.min(Math.max(seconds, 1), 300);
  }

  #releaser(): () => void {
    const started = Date.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = Date.now() - started;
      this.#meanHoldMs = this.#meanHoldMs === undefined ? held : this.#meanHoldMs * 0.8 + held * 0.2;
      const next = this.#waiting.shift();
      if (next) {
        // The slot passes straight to the next request, so `active` does not dip and no one can jump the queue.
        next.cleanup();
        next.resolve(this.#releaser());
      } else {
        this.#active--;
      }
      this.onChange();
    };
  }
}
