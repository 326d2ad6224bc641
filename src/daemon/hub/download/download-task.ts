/** One byte range a download connection works on, and its constructor. */

/** A range being fetched, with its write and receive positions and measured rate. */
export interface Task {
  start: number;
  /** Exclusive; may shrink when an idle connection takes over the tail. */
  end: number;
  /** Where the range's written prefix ends: the next byte a retry asks for. */
  pos: number;
  /** Next byte to receive (pos plus the batches not yet written). */
  received: number;
  /** The connection's recent rate (bytes/ms, measured over windows of RATE_WINDOW_MS), for deciding splits. */
  rate: number | undefined;
  sampleAt: number;
  sampleFrom: number;
}

/** A fresh task for `[start, end)`. */
export function newTask(start: number, end: number): Task {
  return { start, end, pos: start, received: start, rate: undefined, sampleAt: performance.now(), sampleFrom: start };
}

/** `n` rounded up to a multiple of `align`. */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
