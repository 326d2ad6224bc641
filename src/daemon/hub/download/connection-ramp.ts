/**
 * How many connections a download keeps open. It starts with one and probes: it opens another, and keeps it (and
 * probes the next) when the connections that were already open keep their rate while it runs. Against a CDN that
 * caps each connection they do, and every connection added pays. Where something they share is the limit (the
 * disk and the hash on a fast mirror, a LAN or loopback; or the link itself), the probe takes its bytes from them,
 * and more connections cannot make the download faster but do cost: the bytes of every connection but the one the
 * hash has reached arrive ahead of it and are read back from the device to be hashed, so the disk reads about as
 * much as it writes. There the probe is let go after its range. Measured on this project's 2-core VM, 1 GiB from the
 * fake Hub on loopback, durable, alternating: up to 4 connections this way 2.09 s (median of 8; the probe let go
 * every time, 0.2-0.35 GiB read back), four from the start (the previous release, which also wrote less at once)
 * 2.58 s (0.9 GiB read back); in another run one connection took 2.02 s against 2.15 s this way. The price is paid
 * where every connection pays: against the fake Hub capping each connection at 50 MiB/s, a 512 MiB pull took
 * 3.7-3.8 s against 3.0-3.1 s with four from the start, as the fourth opens 1.5 s in.
 *
 * A probe let go is tried again later (after 2 s, then 4, 8, ...): a window can mislead, and the network can change.
 *
 * No probe is opened at all while the connections open spend more than MAX_LOCAL_WAIT of a window waiting on their
 * own side: reading paused because every batch of their write ring is still being written and hashed, or their range
 * is done and its last writes are awaited. Then the disk or the hash is the limit, and a probe could only take its
 * bytes from them and then be let go, its range read back. The question is asked again every window, which costs
 * nothing. A connection the network holds back never waits so (against the fake Hub capping each connection, the
 * share was 0.00 in every window). Measured on this project's 2-core VM, 1 GiB durable from the fake Hub on loopback,
 * 10 alternating rounds: the ramp opened a probe in 1 of 10 pulls (every pull before: 124-252 MiB read back), and
 * with the seams this leaves a lone connection fewer (`coalesceChunks`), the pull took 1.86 s (median) against 2.19 s;
 * against the fake Hub capping each connection at 60 MiB/s, 3.81 s against 3.79 s, reaching 4 connections.
 *
 * The probe's own rate is not what is judged: a new connection spends its first round trips connecting and in TCP's
 * slow start, longer than a window where the round trip is long, and judging it by its first window would keep a
 * download on one connection exactly where more would pay. The connections already open are measured instead, over
 * the first whole window after the probe's first byte, against the window before the probe opened.
 */

/**
 * No probe while the connections open spent more than this share of the window waiting for their writes: their
 * own side (the disk, the hash) is what holds them back, and another connection cannot add to what it takes in.
 */
export const MAX_LOCAL_WAIT = 0.1;
/** Less of a window than this is too little to judge by (heldBackLocally). */
const MIN_JUDGED_MS = 50;
/** A probe is let go when the connections already open lose more than this share of their rate while it runs. */
export const MAX_DROP = 0.25;
/** Windows after a probe was let go before the next one; doubled after each probe let go. */
export const FIRST_BACKOFF_WINDOWS = 8;

type Phase =
  | { kind: "baseline" }
  | { kind: "probing"; probe?: number; delivering: boolean; baseline: number }
  | { kind: "waiting"; until: number };

/** The connection count, from the bytes each connection receives per window. Times are milliseconds from any clock. */
export class ConnectionRamp {
  /** Connections wanted now. */
  wanted = 1;
  readonly #max: number;
  readonly #open = new Set<number>();
  /** Bytes per connection in the current window. */
  readonly #bytes = new Map<number, number>();
  /** Time each connection spent waiting for its writes in the current window, and when its wait began. */
  readonly #waited = new Map<number, number>();
  readonly #waitingSince = new Map<number, number>();
  #windowStart: number;
  /** Windows ended since the download started (the first is its set-up). */
  #windows = 0;
  #phase: Phase = { kind: "baseline" };
  #backoff = FIRST_BACKOFF_WINDOWS;
  #settled: boolean;
  /** The last whole window's share spent waiting on the connections' own side. */
  #lastWaitShare = 0;

  constructor(max: number, now: number) {
    this.#max = Math.max(1, max);
    this.#windowStart = now;
    this.#settled = this.#max === 1;
  }

  /** Connection `id` opened: while a probe is wanted, the first one opened is the probe. */
  opened(id: number): void {
    this.#open.add(id);
    if (this.#phase.kind === "probing" && this.#phase.probe === undefined) this.#phase.probe = id;
  }

  /** Connection `id` is gone. */
  closed(id: number): void {
    this.#open.delete(id);
    this.#waitingSince.delete(id);
  }

  /** Connection `id` stopped reading at `now` to wait for its writes (its ring full, or its range done). */
  waitingForWrites(id: number, now: number): void {
    if (!this.#waitingSince.has(id)) this.#waitingSince.set(id, now);
  }

  /** Connection `id` reads again (a batch was freed, or its exchange ended) at `now`. */
  reading(id: number, now: number): void {
    const since = this.#waitingSince.get(id);
    if (since === undefined) return;
    this.#waitingSince.delete(id);
    this.#addWait(id, now - Math.max(since, this.#windowStart));
  }

  #addWait(id: number, ms: number): void {
    if (ms > 0) this.#waited.set(id, (this.#waited.get(id) ?? 0) + ms);
  }

  /** The share of the current window, up to `now`, the connections open spent waiting on their own side. */
  #waitShare(now: number): number {
    const span = now - this.#windowStart;
    if (span <= 0 || this.#open.size === 0) return 0;
    let waited = 0;
    for (const id of this.#open) {
      const since = this.#waitingSince.get(id);
      waited += (this.#waited.get(id) ?? 0) + (since === undefined ? 0 : now - Math.max(since, this.#windowStart));
    }
    return waited / (span * this.#open.size);
  }

  /**
   * Whether the connections open wait on their own side (the disk, the hash) for more than MAX_LOCAL_WAIT of the
   * time: judged on the window so far once it is MIN_JUDGED_MS old, else on the last whole one (none: false).
   */
  heldBackLocally(now: number): boolean {
    const share = now - this.#windowStart >= MIN_JUDGED_MS ? this.#waitShare(now) : this.#lastWaitShare;
    return share > MAX_LOCAL_WAIT;
  }

  /** Body bytes arrived on connection `id`. */
  received(id: number, bytes: number): void {
    this.#bytes.set(id, (this.#bytes.get(id) ?? 0) + bytes);
  }

  /** Whether the count can no longer change (the maximum was reached): the caller may stop ending windows. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Close the window that ends `now`; returns the connections wanted from now on. */
  endWindow(now: number): number {
    const span = Math.max(now - this.#windowStart, 1e-9);
    const rate = (id: number) => (this.#bytes.get(id) ?? 0) / span;
    const phase = this.#phase;
    const probeBytes = phase.kind === "probing" && phase.probe !== undefined ? (this.#bytes.get(phase.probe) ?? 0) : 0;
    let others = 0;
    let all = 0;
    for (const id of this.#open) {
      all += rate(id);
      if (phase.kind !== "probing" || id !== phase.probe) others += rate(id);
    }
    const localWait = this.#waitShare(now);
    this.#lastWaitShare = localWait;
    this.#bytes.clear();
    this.#waited.clear();
    this.#windowStart = now;
    this.#windows++;
    if (this.#settled) return this.wanted;
    if (phase.kind === "baseline") {
      // The first window is the first connection's set-up: the second measures it.
      if (this.#windows < 2) return this.wanted;
      return this.#probe(all, localWait);
    }
    if (phase.kind === "waiting") return this.#windows < phase.until ? this.wanted : this.#probe(all, localWait);
    // Judged on the first whole window after the probe's first byte.
    if (!phase.delivering) {
      if (probeBytes > 0) phase.delivering = true;
      return this.wanted;
    }
    if (others < (1 - MAX_DROP) * phase.baseline) {
      // It took its bytes from the others: back to the count before it, until the next try.
      this.#phase = { kind: "waiting", until: this.#windows + this.#backoff };
      this.#backoff *= 2;
      return --this.wanted;
    }
    return this.#probe(all, localWait);
  }

  /**
   * Open one more, judged against `baseline` (the rate of all the connections open now), unless at the maximum, or
   * unless the connections open waited on their own side for more than MAX_LOCAL_WAIT of the window (`localWait`):
   * then the question is asked again next window, at no cost, as the disk or the network may change.
   */
  #probe(baseline: number, localWait: number): number {
    if (this.wanted >= this.#max) {
      this.#settled = true;
      return this.wanted;
    }
    if (localWait > MAX_LOCAL_WAIT) {
      this.#phase = { kind: "waiting", until: 0 };
      return this.wanted;
    }
    this.#phase = { kind: "probing", delivering: false, baseline };
    return ++this.wanted;
  }
}
