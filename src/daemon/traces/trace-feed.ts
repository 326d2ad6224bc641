/**
 * Pushes finished traces to `mlxm trace --follow`: every batch of spans written to the local store passes
 * through `publish`, and each root span among them (a CLI command, or a request no command started) means a
 * trace has finished. Followers get those roots as an async iterable; a slow follower keeps only the newest.
 */
import type { SpanRecord } from "../../protocol/traces.js";

const MAX_BACKLOG = 1000;

export class TraceFeed {
  private readonly listeners = new Set<(roots: SpanRecord[]) => void>();
  private readonly closing = new AbortController();

  /** Spans were written to the store. */
  publish(records: SpanRecord[]): void {
    if (this.listeners.size === 0) return;
    const roots = records.filter((r) => r.parent_span_id === null);
    if (roots.length) for (const listener of this.listeners) listener(roots);
  }

  /** Root spans as they are written, until `signal` aborts or the feed closes (the daemon is draining). */
  async *follow(signal: AbortSignal): AsyncGenerator<SpanRecord> {
    const backlog: SpanRecord[] = [];
    let wake: (() => void) | undefined;
    const listener = (roots: SpanRecord[]) => {
      backlog.push(...roots);
      if (backlog.length > MAX_BACKLOG) backlog.splice(0, backlog.length - MAX_BACKLOG);
      wake?.();
    };
    const stop = AbortSignal.any([signal, this.closing.signal]);
    const onStop = () => wake?.();
    this.listeners.add(listener);
    stop.addEventListener("abort", onStop);
    try {
      while (!stop.aborted) {
        const next = backlog.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      stop.removeEventListener("abort", onStop);
    }
  }

  /** End every follow: a follower must not hold the daemon's drain open. */
  close(): void {
    this.closing.abort();
  }
}
