/**
 * One byte range a download connection works on: its positions, its measured rate, the rule by which an idle
 * connection takes over half of a slow one, and the order its writes land in.
 */

/** Ranges are cut on this boundary (chunks and splits). */
export const SPLIT_ALIGN = 64 * 1024;
/** Window over which a connection's rate is measured. */
const RATE_WINDOW_MS = 1000;
/** Split a connection whose remaining bytes would take longer than this at its rate. */
const SPLIT_ETA_MS = 3000;

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

/** A new attempt at the task starts receiving at its written prefix, with no rate yet. */
export function restartSampling(task: Task): void {
  task.rate = undefined;
  task.sampleAt = performance.now();
  task.sampleFrom = task.pos;
  task.received = task.pos;
}

/** `n` more bytes arrived: count them, and take a rate sample once a window has passed. */
export function recordReceived(task: Task, n: number): void {
  task.received += n;
  const now = performance.now();
  if (now - task.sampleAt >= RATE_WINDOW_MS) {
    task.rate = (task.received - task.sampleFrom) / (now - task.sampleAt);
    task.sampleAt = now;
    task.sampleFrom = task.received;
  }
}

/**
 * Take the tail half of the range of a connection that would otherwise finish last by far (its remaining bytes at
 * its own rate take over SPLIT_ETA_MS), shrinking that range; undefined when none is slow enough or the half would
 * be under `minBytes`. Only slow connections are split: on a fast one the bytes already in flight beyond the new end
 * would be wasted.
 */
export function splitSlowest(active: Iterable<Task>, minBytes: number): Task | undefined {
  const now = performance.now();
  let victim: Task | undefined;
  let victimEta = 0;
  for (const t of active) {
    let rate = t.rate;
    // A connection that delivered nothing for a whole window has no fresh sample: count what it did since.
    if (now - t.sampleAt >= 2 * RATE_WINDOW_MS) rate = (t.received - t.sampleFrom) / (now - t.sampleAt);
    if (rate === undefined) continue;
    const eta = rate > 0 ? (t.end - t.received) / rate : Infinity;
    if (eta > SPLIT_ETA_MS && eta > victimEta) {
      victim = t;
      victimEta = eta;
    }
  }
  if (!victim) return undefined;
  // The tail half goes to the idle connection; both halves must stay worth a request.
  const half = Math.floor((victim.end - victim.received) / 2 / SPLIT_ALIGN) * SPLIT_ALIGN;
  if (half < minBytes) return undefined;
  const mid = victim.end - half;
  victim.end = mid;
  return newTask(mid, mid + half);
}

/** Whether any active range is still big enough to be split later. */
export function mightSplit(active: Iterable<Task>, minBytes: number): boolean {
  for (const t of active) if (t.end - t.received >= 2 * minBytes) return true;
  return false;
}

/**
 * Where one attempt's writes go. They are issued in the order of the body, several in flight, and may finish in any
 * order: each is placed where the one issued before it ends, and the task's written prefix (`pos`) advances over
 * the ones that finished in order.
 */
export function writeOrder(task: Task): { place(length: number): number; finished(position: number, length: number): void } {
  let issued = task.pos;
  const finishedAhead = new Map<number, number>();
  return {
    place(length) {
      const position = issued;
      issued += length;
      return position;
    },
    finished(position, length) {
      finishedAhead.set(position, position + length);
      for (let end = finishedAhead.get(task.pos); end !== undefined; end = finishedAhead.get(task.pos)) {
        finishedAhead.delete(task.pos);
        task.pos = end;
      }
    },
  };
}
