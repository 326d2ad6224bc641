/**
 * A set of half-open byte ranges [start, end), kept sorted and merged. The downloader records which bytes of a
 * partial file are written with it, and derives from it what is still missing and how far the bytes are contiguous.
 */

/** `[start, end)` in bytes. */
export type ByteRange = [start: number, end: number];

/** Sorted, merged, disjoint ranges. */
export class RangeSet {
  #ranges: ByteRange[] = [];

  constructor(ranges: Iterable<ByteRange> = []) {
    for (const [s, e] of ranges) this.add(s, e);
  }

  /** Add [start, end), merging with neighbours that touch or overlap it. */
  add(start: number, end: number): void {
    if (!(end > start)) return;
    const r = this.#ranges;
    // First range whose end is >= start (it may touch or overlap the new one).
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid][1] < start) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let s = start;
    let e = end;
    while (i < r.length && r[i][0] <= e) {
      s = Math.min(s, r[i][0]);
      e = Math.max(e, r[i][1]);
      i++;
    }
    r.splice(lo, i - lo, [s, e]);
  }

  /** Total bytes covered. */
  get total(): number {
    let n = 0;
    for (const [s, e] of this.#ranges) n += e - s;
    return n;
  }

  /** Where the bytes starting at `offset` stop being contiguous (`offset` itself if that byte is missing). */
  contiguousEnd(offset = 0): number {
    for (const [s, e] of this.#ranges) {
      if (s > offset) break;
      if (e > offset) return e;
    }
    return offset;
  }

  /** The gaps in [0, size). */
  missing(size: number): ByteRange[] {
    const gaps: ByteRange[] = [];
    let pos = 0;
    for (const [s, e] of this.#ranges) {
      if (s >= size) break;
      if (s > pos) gaps.push([pos, s]);
      pos = Math.max(pos, e);
    }
    if (pos < size) gaps.push([pos, size]);
    return gaps;
  }

  /** A copy of the ranges. */
  toJSON(): ByteRange[] {
    return this.#ranges.map(([s, e]) => [s, e]);
  }
}

/**
 * The downloader's chunks: `ranges` cut into pieces of at most `maxSize` bytes, except the last `tail.bytes` of
 * them (from a file offset rounded down to `tail.align`), which are cut into pieces of at most `tail.maxSize`.
 *
 * Why a finer tail: the hash must read the file in order, so it follows the lowest chunk still arriving, and the
 * chunks above it wait in memory. At the end, the last chunks of all connections arrive together; when they are
 * whole chunks, three quarters of them (192 MiB with 4 x 64 MiB) are still to hash after the last byte: 130 ms
 * of a 1.6 s pull here. With the last `concurrency x chunk` bytes in quarter pieces, about 8 ms.
 */
export function splitWithFinerTail(ranges: ByteRange[], maxSize: number, tail: { bytes: number; maxSize: number; align: number }): ByteRange[] {
  let left = tail.bytes;
  let boundary = Infinity;
  for (let i = ranges.length - 1; i >= 0 && left > 0; i--) {
    const [s, e] = ranges[i]!;
    boundary = Math.max(s, e - left);
    left -= e - boundary;
  }
  if (boundary !== Infinity) boundary = Math.floor(boundary / tail.align) * tail.align;
  const out: ByteRange[] = [];
  for (const [s, e] of ranges) {
    if (s < boundary) out.push(...splitRanges([[s, Math.min(e, boundary)]], maxSize));
    if (e > boundary) out.push(...splitRanges([[Math.max(s, boundary), e]], tail.maxSize));
  }
  return out;
}

/** Cut ranges into pieces of at most `maxSize` bytes. */
export function splitRanges(ranges: ByteRange[], maxSize: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const [s, e] of ranges) {
    for (let p = s; p < e; p += maxSize) out.push([p, Math.min(e, p + maxSize)]);
  }
  return out;
}
