/** How a download cuts the bytes it still needs into requests: chunks, a finer tail, and coalescing while alone. */
import { splitWithFinerTail, type ByteRange } from "./byte-ranges.js";
import { alignUp, newTask, SPLIT_ALIGN, type Task } from "./download-task.js";

const MiB = 1024 * 1024;

/**
 * The requests for the `missing` ranges. Never fewer chunks than connections: a file smaller than concurrency x
 * chunkSize still downloads in parallel. A file of more than `concurrency` chunks ends in quarter chunks (see
 * splitWithFinerTail), none smaller than a split may cut off. A smaller one keeps one chunk per connection: a request
 * each is all it costs.
 */
export function planRequests(
  missing: ByteRange[],
  o: { chunkSize: number; concurrency: number; minSplitBytes: number },
): ByteRange[] {
  const missingBytes = missing.reduce((n, [s, e]) => n + e - s, 0);
  const chunk = Math.min(o.chunkSize, Math.max(MiB, alignUp(Math.ceil(missingBytes / o.concurrency), SPLIT_ALIGN)));
  const tailPiece = Math.max(o.minSplitBytes, alignUp(Math.ceil(chunk / 4), SPLIT_ALIGN));
  const tapered = missingBytes > o.concurrency * chunk && tailPiece < chunk;
  const tail = { bytes: tapered ? o.concurrency * chunk : 0, maxSize: tailPiece, align: SPLIT_ALIGN };
  return splitWithFinerTail(missing, chunk, tail);
}

/**
 * `task` and the ranges at the head of `queue` that follow it without a gap, taken off the queue, as one task of at
 * most `limit` bytes (a lone connection the disk holds back: see DownloadOptions.coalesceChunks). Measured on this
 * project's 2-core VM, 1 GiB durable from the fake Hub on loopback, one connection, 10 alternating rounds: 256 MiB
 * requests took 1.85 s (median) against 1.96 s with 64 MiB ones.
 */
export function coalesceQueued(task: Task, queue: Task[], limit: number): Task {
  let end = task.end;
  while (queue.length > 0 && queue[0].start === end && queue[0].end - task.start <= limit) end = queue.shift()!.end;
  return end === task.end ? task : newTask(task.start, end);
}
