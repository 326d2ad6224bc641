/**
 * Per-route caps: concurrent requests and requests per minute (a sliding one-minute window). Over either cap the
 * request is refused with a 429 and a Retry-After, which each protocol's error handler renders in its own shape.
 */
import { HttpError } from "../errors.js";

export interface RouteLimits {
  maxConcurrency: number | null;
  requestsPerMinute: number | null;
}

const WINDOW_MS = 60_000;

export class RouteLimiter {
  #active = 0;
  readonly #starts: number[] = [];

  constructor(
    private readonly label: string,
    private limits: RouteLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  /** New caps from an edited route; counts carry over. */
  update(limits: RouteLimits): void {
    this.limits = limits;
  }

  /** Take a slot or throw a 429; call the returned function exactly once when the request ends. */
  acquire(): () => void {
    const now = this.clock();
    while (this.#starts.length && this.#starts[0]! <= now - WINDOW_MS) this.#starts.shift();
    const { maxConcurrency, requestsPerMinute } = this.limits;
    if (requestsPerMinute !== null && this.#starts.length >= requestsPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((this.#starts[0]! + WINDOW_MS - now) / 1000));
      throw new HttpError("queue_full", `rate limit of ${requestsPerMinute} requests per minute reached for ${this.label}`, { limit: "requests_per_minute" }, { "retry-after": String(retryAfter) });
    }
    if (maxConcurrency !== null && this.#active >= maxConcurrency) {
      throw new HttpError("queue_full", `${maxConcurrency} concurrent requests already running for ${this.label}`, { limit: "concurrency" }, { "retry-after": "1" });
    }
    this.#active++;
    this.#starts.push(now);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
    };
  }
}
