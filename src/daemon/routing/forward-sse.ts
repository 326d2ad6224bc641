/**
 * Server-Sent Events in and out for the pass-through: upstream bytes parsed into events with `eventsource-parser`,
 * handed over one batch per network read (one await per read, not per event), and events written back as frames.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export type { EventSourceMessage };

/** The events of an SSE body, a batch per chunk read. Cancels the body when the consumer stops early. */
export async function* sseBatches(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (pending.length) {
        const batch = pending;
        pending = [];
        yield batch;
      }
    }
    finished = true;
  } finally {
    if (!finished) void reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** One event as it goes on the wire; `data` may span lines (each becomes a `data:` line). */
export function sseFrame(event: Pick<EventSourceMessage, "event" | "id">, data: string): string {
  const head = `${event.event ? `event: ${event.event}\n` : ""}${event.id ? `id: ${event.id}\n` : ""}`;
  return `${head}data: ${data.includes("\n") ? data.split("\n").join("\ndata: ") : data}\n\n`;
}
