/**
 * One producer, many consumers of a progress stream, each an async iterator. A late subscriber first gets a replay
 * of the stream so far; a slow one never makes the producer wait or memory grow, because events with the same key
 * (e.g. progress of one file) replace the one still queued instead of piling up. A consumer that stops (break,
 * return, or its AbortSignal) only detaches: the producer keeps going for the others.
 */

/** See the module comment. */
export class Fanout<T> {
  readonly #history: T[] = [];
  readonly #subscribers = new Set<Subscriber<T>>();
  #closed = false;
  #error: unknown;
  #failed = false;

  /** `keyOf` names events that supersede each other; undefined means the event is always kept. */
  constructor(private readonly keyOf: (event: T) => string | undefined = () => undefined) {}

  /** Number of attached consumers. */
  get size(): number {
    return this.#subscribers.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  publish(event: T): void {
    if (this.#closed) return;
    coalescePush(this.#history, event, this.keyOf);
    for (const s of this.#subscribers) s.push(event);
  }

  /** End the stream: consumers drain what is queued, then finish (or throw `error`). */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failed = error !== undefined;
    this.#error = error;
    for (const s of this.#subscribers) s.end(this.#failed, error);
    this.#subscribers.clear();
  }

  /** A new consumer: the replay, then live events. Aborting `signal` detaches it (its next() rejects with the reason). */
  subscribe(signal?: AbortSignal): AsyncIterableIterator<T> {
    const sub = new Subscriber<T>(this.keyOf, () => this.#subscribers.delete(sub));
    for (const e of this.#history) sub.push(e);
    if (this.#closed) sub.end(this.#failed, this.#error);
    else this.#subscribers.add(sub);
    if (signal) sub.attachSignal(signal);
    return sub;
  }
}

function coalescePush<T>(queue: T[], event: T, keyOf: (event: T) => string | undefined): void {
  const key = keyOf(event);
  if (key !== undefined) {
    const i = queue.findIndex((e) => keyOf(e) === key);
    if (i >= 0) {
      queue[i] = event;
      return;
    }
  }
  queue.push(event);
}

class Subscriber<T> implements AsyncIterableIterator<T> {
  readonly #queue: T[] = [];
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #failed = false;
  #error: unknown;
  #detachedReason: unknown;
  #detached = false;

  constructor(
    private readonly keyOf: (event: T) => string | undefined,
    private readonly detach: () => void,
  ) {}

  push(event: T): void {
    if (this.#ended || this.#detached) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve({ value: event, done: false });
      return;
    }
    coalescePush(this.#queue, event, this.keyOf);
  }

  end(failed: boolean, error: unknown): void {
    this.#ended = true;
    this.#failed = failed;
    this.#error = error;
    if (this.#waiter && this.#queue.length === 0) {
      const w = this.#waiter;
      this.#waiter = undefined;
      if (failed) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  attachSignal(signal: AbortSignal): void {
    const onAbort = () => this.#stop(signal.reason ?? new DOMException("This operation was aborted", "AbortError"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#detached) return this.#detachedReason !== undefined ? Promise.reject(this.#detachedReason) : Promise.resolve(done<T>());
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift()!, done: false });
    if (this.#ended) {
      if (this.#failed) {
        // Throw once; afterwards the iterator is simply done.
        this.#failed = false;
        return Promise.reject(this.#error);
      }
      return Promise.resolve(done<T>());
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#stop(undefined);
    return Promise.resolve(done<T>());
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  #stop(reason: unknown): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#detachedReason = reason;
    this.#queue.length = 0;
    this.detach();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      if (reason !== undefined) w.reject(reason);
      else w.resolve(done<T>());
    }
  }
}

function done<T>(): IteratorResult<T> {
  return { value: undefined, done: true };
}
