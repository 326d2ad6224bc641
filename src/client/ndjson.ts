/**
 * Streams of newline-delimited JSON from the daemon (`/api/pull`, `/api/chat`, … in Ollama's style) as async
 * iterables. A line carrying `error` (how the daemon reports a failure after the stream has started) becomes a
 * thrown typed error, as in openai-node's streaming and Ollama's client.
 */
import { STATUS_OF, isErrorCode } from "../protocol/errors.js";
import { ApiError } from "./errors.js";

export async function* readNdjson(body: ReadableStream<Uint8Array> | null, status = 200): AsyncGenerator<Record<string, unknown>> {
  if (!body) return;
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield parseLine(line, status);
      }
      if (done) break;
    }
    if (buffered.trim()) yield parseLine(buffered.trim(), status);
  } finally {
    // Stopping early (break, error) must release the connection, which also tells the daemon we left.
    await reader.cancel().catch(() => {});
  }
}

function parseLine(line: string, status: number): Record<string, unknown> {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new ApiError(`the daemon sent a malformed stream line: ${line.slice(0, 200)}`, status, "internal");
  }
  if (typeof obj.error === "string") {
    const code = typeof obj.code === "string" ? obj.code : undefined;
    throw ApiError.generate(code ? statusFor(code, status) : 500, obj);
  }
  return obj;
}

/** Mid-stream errors come with a 200 status line already sent; the code says what really happened. */
function statusFor(code: string, fallback: number): number {
  return isErrorCode(code) ? STATUS_OF[code] : fallback >= 400 ? fallback : 500;
}
