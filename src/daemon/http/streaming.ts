/**
 * What every streaming generation route needs: an AbortSignal that fires when the client goes away, the first
 * event fetched before any header is sent (so pre-generation errors still get a status code), and a writer that
 * respects backpressure and turns a failure mid-stream into one in-band error message instead of a hang.
 */
import type { Request, Response } from "express";
import type { Logger } from "../../observability/logger.js";
import { toHttpError } from "./native-errors.js";
import type { ChatEvent } from "../core/chat.js";
import { HttpError as HttpErrorClass, type HttpError } from "../errors.js";

/**
 * Aborts when the response closes before it was finished: the client disconnected. (`req`'s own 'close' fires once
 * the body is read, so it cannot tell a disconnect; the response's can.)
 */
export function clientAbortSignal(_req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

/**
 * Run the stream up to its first event. The model service throws pre-generation errors (unknown model, queue full)
 * from the first `next()`, so awaiting it here lets the route answer them with a status code.
 */
export async function prefetchFirst<T>(source: AsyncIterable<T>): Promise<AsyncIterableIterator<T>> {
  const it = source[Symbol.asyncIterator]();
  let first: Promise<IteratorResult<T>> | undefined = Promise.resolve(await it.next());
  // A plain iterator rather than an async generator: one layer less per streamed event.
  const rest: AsyncIterableIterator<T> = {
    next: () => {
      const r = first ?? it.next();
      first = undefined;
      return r;
    },
    // Stops the generation when the consumer stops early (client gone, or an error).
    return: async () => {
      first = undefined;
      return (await it.return?.()) ?? { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => rest,
  };
  return rest;
}

export interface StreamFormat<T> {
  contentType: string;
  /** One item as it goes on the wire, framing included. */
  encode(item: T): string;
  /** A failure after the headers were sent, as the protocol's in-band error message. */
  encodeError(err: HttpError): string;
  /** Written after the last item of a stream that completed (SSE's `data: [DONE]`). */
  trailer?: string;
}

/** The streams being written now, each with how to end it with an error in its own protocol. */
const activeStreams = new Set<(err: HttpError) => void>();

/**
 * End every stream still being written with `err` as its protocol's in-band error (an SSE error event, an NDJSON
 * error line), as a failure mid-stream is: for a shutdown whose grace ran out, so a client reads why its answer
 * stops instead of a cut connection. Returns how many were told.
 */
export function interruptStreams(err: HttpError): number {
  const streams = [...activeStreams];
  for (const stop of streams) stop(err);
  return streams.length;
}

/**
 * Write `items` as a streamed 200 response; stops when the client goes away. Items may arrive as fast as an upstream
 * sends them (pass-through), so a write the socket takes costs no promise, and a full socket is waited for with one
 * pair of listeners for the whole stream rather than a pair per blocked write (OpenTelemetry's context manager wraps
 * every listener added to a response).
 */
export async function sendStream<T>(
  res: Response,
  items: AsyncIterable<T>,
  format: StreamFormat<T>,
  logger: Logger,
  /**
   * Send the headers before the first item: for streams whose first item may be long in coming (a trace follow, a
   * pull waiting on the Hub), so the client knows it was accepted. Generation streams have their first event already
   * (prefetchFirst): their headers go out with it in one write and the client wakes once instead of twice (measured
   * ~0.7 ms of a routed request's time to first token).
   */
  options: {
    headersFirst?: boolean;
    /**
     * The stream `items` are translated from, when it was started before (prefetchFirst): closed when this one ends.
     * A translator generator left before it first read its source (the client went away while the request waited in
     * a queue, before its first chunk was written) never closes that source, which would hold the backend and the
     * request's usage row for ever.
     */
    source?: AsyncIterator<unknown>;
  } = {},
): Promise<void> {
  res.status(200).set({ "content-type": format.contentType, "cache-control": "no-cache", "x-accel-buffering": "no" });
  if (options.headersFirst) res.flushHeaders();
  let wake: (() => void) | undefined;
  const resume = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  res.on("drain", resume);
  res.on("close", resume);
  const writable = () => !res.destroyed && !res.writableEnded;
  // Ended from outside (interruptStreams): the loop below finds the response ended at its next item and stops.
  const interrupt = (err: HttpError) => {
    if (!writable()) return;
    res.write(format.encodeError(err));
    res.end();
    resume();
  };
  activeStreams.add(interrupt);
  /** Write with backpressure; false once the client is gone. */
  const write = async (text: string): Promise<boolean> => {
    if (!writable()) return false;
    if (!res.write(text)) await new Promise<void>((resolve) => (wake = resolve));
    return writable();
  };
  try {
    for await (const item of items) {
      // Inline rather than `await write(...)`: no promise for a write the socket took.
      if (!writable()) return;
      if (!res.write(format.encode(item))) {
        await new Promise<void>((resolve) => (wake = resolve));
        if (!writable()) return;
      }
    }
    if (format.trailer) await write(format.trailer);
  } catch (err) {
    // The client is gone (its disconnect may be what ended the stream): nobody to tell, nothing to log.
    if (res.destroyed) return;
    const httpError = toHttpError(err);
    if (httpError.status >= 500) logger.error({ err, requestId: res.req.requestId }, "stream failed after its first byte");
    await write(format.encodeError(httpError));
  } finally {
    activeStreams.delete(interrupt);
    res.off("drain", resume);
    res.off("close", resume);
    await options.source?.return?.();
  }
  if (!res.writableEnded) res.end();
}

/** Server-Sent Events as OpenAI sends them: unnamed `data:` events, then `data: [DONE]`. */
export function sseFormat<T>(encodeError: (err: HttpError) => unknown): StreamFormat<T> {
  return {
    contentType: "text/event-stream; charset=utf-8",
    encode: (item) => `data: ${JSON.stringify(item)}\n\n`,
    encodeError: (err) => `data: ${JSON.stringify(encodeError(err))}\n\n`,
    trailer: "data: [DONE]\n\n",
  };
}

/**
 * Server-Sent Events with named events, as Anthropic sends them: each item goes out as `event: <its type>` with its
 * JSON as `data:`; a failure is an `error` event; no trailer (the protocol's own last event ends the stream).
 */
export function namedSseFormat<T extends { type: string }>(encodeError: (err: HttpError) => unknown): StreamFormat<T> {
  return {
    contentType: "text/event-stream; charset=utf-8",
    encode: (item) => `event: ${item.type}\ndata: ${JSON.stringify(item)}\n\n`,
    encodeError: (err) => `event: error\ndata: ${JSON.stringify(encodeError(err))}\n\n`,
  };
}

/** Newline-delimited JSON as Ollama streams it; an error is one `{error, code, details?}` line (ApiErrorBody). */
export function ndjsonFormat<T>(): StreamFormat<T> {
  return {
    contentType: "application/x-ndjson",
    encode: (item) => `${JSON.stringify(item)}\n`,
    encodeError: (err) => `${JSON.stringify({ error: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) })}\n`,
  };
}

/** A backend that reports `finishReason: "error"` failed: surface it as an error rather than a normal end. */
export function failOnErrorFinish(events: AsyncIterable<ChatEvent>): AsyncIterableIterator<ChatEvent> {
  const it = events[Symbol.asyncIterator]();
  // A plain iterator rather than an async generator: one layer less per streamed event.
  const checked: AsyncIterableIterator<ChatEvent> = {
    next: async () => {
      const r = await it.next();
      if (!r.done && r.value.type === "done" && r.value.finishReason === "error") {
        await it.return?.();
        throw new HttpErrorClass("internal", "the generation failed");
      }
      return r;
    },
    return: async () => (await it.return?.()) ?? { done: true, value: undefined },
    [Symbol.asyncIterator]: () => checked,
  };
  return checked;
}
