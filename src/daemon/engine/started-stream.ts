/**
 * The ModelService stream contract around a producer task: errors until the producer says it has begun (a bad
 * request, a full queue, a failed load) are thrown by the iterator's first `next()`; after that, events are relayed
 * as they are pushed and a later error ends the stream. Aborting the caller's signal, or leaving the iterator early,
 * aborts the producer, and the iterator finishes only once the producer has.
 */
import { HttpError } from "../errors.js";
import { EventChannel } from "./event-channel.js";

export interface StreamProducer<T> {
  /** Aborted when the caller's signal aborts or the consumer stops iterating. */
  signal: AbortSignal;
  channel: EventChannel<T>;
  /** Call once generation has started: errors after this reach the consumer as a failed stream. */
  begin(): void;
}

/**
 * Runs `produce` and relays what it pushes. A producer cancelled before it began because the caller went away
 * (an `HttpError` "cancelled" with the signal aborted) ends the stream with `cancelledEvent` instead of throwing.
 */
export async function* startedStream<T>(
  signal: AbortSignal,
  produce: (producer: StreamProducer<T>) => Promise<void>,
  cancelledEvent: T,
): AsyncGenerator<T> {
  // Late wake-ups: the consumer's write of a token overlaps the next token's decode (see EventChannel).
  const channel = new EventChannel<T>({ wakeLate: true });
  const abort = new AbortController();
  const onAbort = () => abort.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });

  let started = false;
  let begin!: () => void;
  let failBeforeStart!: (err: unknown) => void;
  const begun = new Promise<void>((resolve, reject) => {
    begin = () => {
      started = true;
      resolve();
    };
    failBeforeStart = reject;
  });

  const task = produce({ signal: abort.signal, channel, begin }).then(
    () => channel.end(),
    (err: unknown) => {
      if (started) channel.fail(err);
      else failBeforeStart(err);
    },
  );

  try {
    try {
      await begun;
    } catch (err) {
      // Cancelled before it started (while queued or loading): the client is gone; end quietly.
      if (abort.signal.aborted && err instanceof HttpError && err.code === "cancelled") {
        yield cancelledEvent;
        return;
      }
      throw err;
    }
    yield* channel;
  } finally {
    abort.abort();
    signal.removeEventListener("abort", onAbort);
    await task;
  }
}
