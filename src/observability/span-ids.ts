/**
 * Trace and span ids for the daemon's spans: trace ids ordered by time as Logfire prefers (the 48-bit millisecond
 * clock, then 80 random bits: logfire's ULIDGenerator layout), span ids random, both cut from a pooled buffer of
 * random bytes.
 *
 * Why not logfire's ULIDGenerator: it builds each trace id with BigInt shifts over `crypto.getRandomValues`, measured
 * at ~11 us per id in a hot loop (`bench/_spanbench`), more than the rest of starting the span, and a routed request
 * starts a trace each time. Drawing 4 KiB of random bytes at once and slicing hex out of it costs well under 1 us.
 */
import { randomFillSync } from "node:crypto";
import type { IdGenerator } from "@opentelemetry/sdk-trace-base";

const POOL_BYTES = 4096;

export class TimeOrderedIdGenerator implements IdGenerator {
  readonly #pool = Buffer.allocUnsafe(POOL_BYTES);
  #at = POOL_BYTES;
  /** Ids chosen before the span that takes them is started (`withIds`), handed out once each. */
  #presetTraceId: string | undefined;
  #presetSpanId: string | undefined;

  /**
   * Run `start` (which starts one span) with that span's ids chosen beforehand: a span whose ids were sent upstream
   * before the span itself was created (deferred-span.ts). A child span takes only the span id; both are cleared after.
   */
  withIds<T>(traceId: string, spanId: string, start: () => T): T {
    this.#presetTraceId = traceId;
    this.#presetSpanId = spanId;
    try {
      return start();
    } finally {
      this.#presetTraceId = undefined;
      this.#presetSpanId = undefined;
    }
  }

  generateTraceId(): string {
    const preset = this.#presetTraceId;
    if (preset !== undefined) {
      this.#presetTraceId = undefined;
      return preset;
    }
    // Date.now() fits 48 bits until the year 10889; hex of it is at most 12 digits.
    return Date.now().toString(16).padStart(12, "0") + this.#randomHex(10);
  }

  generateSpanId(): string {
    const preset = this.#presetSpanId;
    if (preset !== undefined) {
      this.#presetSpanId = undefined;
      return preset;
    }
    return this.#randomHex(8);
  }

  /** `bytes` random bytes as hex, never all zeros (an all-zero id is invalid in W3C trace context). */
  #randomHex(bytes: number): string {
    if (this.#at + bytes > POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    const start = this.#at;
    this.#at += bytes;
    let zero = true;
    for (let i = start; i < start + bytes && zero; i++) zero = this.#pool[i] === 0;
    if (zero) this.#pool[start + bytes - 1] = 1;
    return this.#pool.toString("hex", start, start + bytes);
  }
}
