/**
 * How many connections a download keeps open. It starts with one and probes: it opens another, and keeps it (and
 * probes the next) only when the rate the connections reach together rose by a quarter. Against a CDN that caps
 * each connection, every one added pays, and the download reaches its maximum a few windows in. Where one
 * connection already brings bytes as fast as the machine can write and hash them (a fast mirror, a LAN, loopback),
 * more cannot make it faster and they cost: the bytes of every connection but the one the hash has reached arrive
 * ahead of it and are read back from the device to be hashed, so the disk reads about as much as it writes. There
 * the probe is let go after its chunk. Measured on this project's 2-core VM, 1 GiB from the fake Hub on loopback,
 * durable, 10 alternating rounds: 4 connections 2.57 s (median, 2.22 s of CPU, 0.9 GiB read back), one 2.03 s
 * (1.87 s, nothing read back).
 *
 * A window's first part after a connection opens is its set-up (TLS, a redirect, TCP's slow start), so each
 * measurement is the window after the one in which the count changed.
 */

/** A probe is kept when the rate rose by at least this factor. */
export const MIN_GAIN = 1.25;

/** The connection count, from the bytes received per window. Times are milliseconds from any one clock. */
export class ConnectionRamp {
  /** Connections wanted now. */
  wanted = 1;
  readonly #max: number;
  #bytes = 0;
  #windowStart: number;
  /** Windows ended since `wanted` last changed (the first is set-up, the second measures). */
  #windows = 0;
  /** The rate measured before the probe now open, with one connection fewer. */
  #rateBefore: number | undefined;
  #settled: boolean;

  constructor(max: number, now: number) {
    this.#max = Math.max(1, max);
    this.#windowStart = now;
    this.#settled = this.#max === 1;
  }

  /** Body bytes arrived on any connection. */
  received(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Whether the count may still change (the caller keeps ending windows until it may not). */
  get settled(): boolean {
    return this.#settled;
  }

  /** Close the window that ends `now`; returns the connections wanted from now on. */
  endWindow(now: number): number {
    const rate = now > this.#windowStart ? this.#bytes / (now - this.#windowStart) : 0;
    this.#bytes = 0;
    this.#windowStart = now;
    if (this.#settled || ++this.#windows < 2) return this.wanted;
    if (this.#rateBefore !== undefined && rate < MIN_GAIN * this.#rateBefore) {
      // The probe did not pay: back to the count before it, for good.
      this.wanted--;
      this.#settled = true;
      return this.wanted;
    }
    if (this.wanted >= this.#max) {
      this.#settled = true;
      return this.wanted;
    }
    // Probe: one more, measured against this rate.
    this.#rateBefore = rate;
    this.#windows = 0;
    return ++this.wanted;
  }
}
