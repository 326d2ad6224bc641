/**
 * Server-Sent Events in and out for the pass-through: upstream bytes parsed into events with `eventsource-parser`,
 * handed over one batch per network read (one await per read, not per event), and events written back as frames.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export type { EventSourceMessage };

/**
 * The events of an SSE body, a batch per network read. A class with one `read()` rather than an async generator: the
 * relay awaits one promise per read, not a chain of generator steps (each promise also costs the async-context hooks
 * OpenTelemetry installs).
 */
export class SseReader {
  readonly #chunks: AsyncIterator<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #pending: EventSourceMessage[] = [];
  readonly #parser = createParser({ onEvent: (event) => this.#pending.push(event) });
  #finished = false;

  /** `body`: a response body (a node:http response); returning its iterator early destroys it. */
  constructor(body: AsyncIterable<Uint8Array>) {
    this.#chunks = body[Symbol.asyncIterator]();
  }

  /** The events of the next read that completed any; undefined once the body ended. */
  async read(): Promise<EventSourceMessage[] | undefined> {
    for (;;) {
      const { done, value } = await this.#chunks.next();
      if (done) {
        this.#finished = true;
        return undefined;
      }
      this.#parser.feed(this.#decoder.decode(value, { stream: true }));
      if (this.#pending.length) {
        const batch = this.#pending;
        this.#pending = [];
        return batch;
      }
    }
  }

  /** Stop reading: destroys the body (and so closes the upstream connection) unless it already ended. */
  close(): void {
    if (this.#finished) return;
    this.#finished = true;
    void this.#chunks.return?.()?.catch(() => {});
  }
}

/** One event as it goes on the wire; `data` may span lines (each becomes a `data:` line). */
export function sseFrame(event: Pick<EventSourceMessage, "event" | "id">, data: string): string {
  const head = `${event.event ? `event: ${event.event}\n` : ""}${event.id ? `id: ${event.id}\n` : ""}`;
  return `${head}data: ${data.includes("\n") ? data.split("\n").join("\ndata: ") : data}\n\n`;
}
