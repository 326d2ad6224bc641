/**
 * Server-Sent Events in and out for the pass-through: upstream bytes parsed into events with `eventsource-parser`,
 * handed over one batch per network read (one await per read, not per event), and events written back as frames.
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createParser, type EventSourceMessage } from "eventsource-parser";

export type { EventSourceMessage };

/**
 * The events of an SSE body, a batch per network read. Read from the body's `data` events rather than its async
 * iterator: Node's stream iterator is an async generator over `readable` events, a few promises and listener calls
 * per chunk, where this costs one promise per batch. The body is paused while a batch waits for its reader, so an
 * upstream faster than the caller is held back by TCP as before.
 */
export class SseReader {
  readonly #body: Readable;
  readonly #decoder = new StringDecoder("utf8");
  #pending: EventSourceMessage[] = [];
  /** Batches parsed and not yet read. */
  readonly #ready: EventSourceMessage[][] = [];
  readonly #parser = createParser({ onEvent: (event) => this.#pending.push(event) });
  #ended = false;
  #failure: unknown;
  #waiting: { resolve: (batch: EventSourceMessage[] | undefined) => void; reject: (err: unknown) => void } | undefined;

  /** `body`: a response body (a node:http response); `close()` destroys it. */
  constructor(body: Readable) {
    this.#body = body;
    body.on("data", (chunk: Buffer) => {
      this.#parser.feed(this.#decoder.write(chunk));
      if (!this.#pending.length) return;
      const batch = this.#pending;
      this.#pending = [];
      const waiting = this.#waiting;
      if (waiting) {
        this.#waiting = undefined;
        waiting.resolve(batch);
      } else {
        this.#ready.push(batch);
        body.pause();
      }
    });
    // As the stream iterator did: an end is only an end when the body completed; a close before it is a failure.
    // Listened for here rather than with stream.finished, which adds a listener for every way any stream may end.
    body.once("end", () => this.#finish());
    body.once("error", (err) => this.#finish(err));
    body.once("close", () => this.#finish(body.readableEnded ? undefined : prematureClose()));
  }

  /** The body ended (`failure` undefined) or failed: answer a waiting read; later reads get the same. */
  #finish(failure?: unknown): void {
    if (failure !== undefined) this.#failure ??= failure;
    this.#ended = true;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (!waiting) return;
    if (this.#failure !== undefined) waiting.reject(this.#failure);
    else waiting.resolve(undefined);
  }

  /** The events of the next read that completed any; undefined once the body ended. */
  read(): Promise<EventSourceMessage[] | undefined> {
    const batch = this.#ready.shift();
    if (batch) {
      if (!this.#ready.length && !this.#ended) this.#body.resume();
      return Promise.resolve(batch);
    }
    if (this.#ended) return this.#failure !== undefined ? Promise.reject(this.#failure) : Promise.resolve(undefined);
    this.#body.resume();
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  /** Stop reading: destroys the body (and so closes the upstream connection) unless it already ended. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#body.destroy();
  }
}

/** What Node's streams say when a body's connection closed before its end. */
function prematureClose(): Error {
  return Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}

/** One event as it goes on the wire; `data` may span lines (each becomes a `data:` line). */
export function sseFrame(event: Pick<EventSourceMessage, "event" | "id">, data: string): string {
  const head = `${event.event ? `event: ${event.event}\n` : ""}${event.id ? `id: ${event.id}\n` : ""}`;
  return `${head}data: ${data.includes("\n") ? data.split("\n").join("\ndata: ") : data}\n\n`;
}
