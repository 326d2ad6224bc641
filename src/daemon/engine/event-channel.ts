/**
 * A push-to-pull bridge: node-llama-cpp reports tokens through callbacks, the ModelService hands out async
 * iterables. Unbounded: events are a few bytes each and a generation is bounded by its context.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #ended = false;
  #error: { error: unknown } | undefined;
  #wake: (() => void) | undefined;
  readonly #wakeLate: boolean;

  /**
   * `wakeLate`: a waiting consumer is woken two macrotasks after a push instead of at once. For generation: node-llama-cpp
   * reports a token, then queues the next decode from a `setImmediate` it schedules in the same run of microtasks; a
   * consumer woken at once writes the token to the client first and the decode waits for it, while one woken after
   * that immediate writes it while the decode computes on the thread pool, on the other core. Measured on 2 cores,
   * same daemon, alternating requests: single-stream decode +5 % (0.90 -> 0.98 of llama-server in one run), 4 and 8
   * streams unchanged. One macrotask is not enough: it runs before node-llama-cpp's.
   */
  constructor(options: { wakeLate?: boolean } = {}) {
    this.#wakeLate = options.wakeLate ?? false;
  }

  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** End with an error, thrown to the consumer after the items already pushed. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#error = { error };
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.#items.length) {
        yield this.#items.shift()!;
        continue;
      }
      if (this.#ended) {
        if (this.#error) throw this.#error.error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    if (!wake) return;
    if (this.#wakeLate) setImmediate(() => setImmediate(wake));
    else wake();
  }
}
