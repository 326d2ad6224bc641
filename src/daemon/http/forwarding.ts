/**
 * The HTTP side of same-protocol pass-through (see routing/forward-call.ts): a request body as a `WireCall`, and a
 * forwarded answer written to the caller: JSON as the upstream sent it, or its SSE frames as they come, with a failure
 * after the first byte sent in-band in the protocol's own error shape.
 */
import type { Response } from "express";
import type { Logger } from "../../observability/logger.js";
import type { Forwarded, WireApi, WireCall } from "../routing/forward-call.js";
import { sendStream, type StreamFormat } from "./streaming.js";

/**
 * `body` as a pass-through call. Only a JSON object with a string `model` can be one; for anything else `model()` (the
 * full translator) throws the precise 400 the caller would get without routing.
 */
export function wireCallOf(
  api: WireApi,
  endpoint: WireCall["endpoint"],
  body: unknown,
  model: () => string,
  includeUsage: (body: Record<string, unknown>) => boolean,
  headers?: Record<string, string>,
): WireCall {
  const b = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const name = typeof b?.model === "string" && b.model !== "" ? b.model : model();
  const fields = b ?? {};
  return { api, endpoint, body: fields, model: name, stream: fields.stream === true, includeUsage: includeUsage(fields), ...(headers ? { headers } : {}) };
}

/** The relay's frames are already on-the-wire text; errors keep the protocol's in-band shape. */
export function forwardFormat(protocol: StreamFormat<never>): StreamFormat<string> {
  return { contentType: protocol.contentType, encode: (frame) => frame, encodeError: (err) => protocol.encodeError(err) };
}

export async function sendForwarded(res: Response, forwarded: Forwarded, format: StreamFormat<string>, logger: Logger): Promise<void> {
  if (forwarded.kind === "json") {
    res.json(forwarded.body);
    return;
  }
  await sendStream(res, forwarded.frames, format, logger);
}

/** `fn`'s result, computed on the first call only (a translation both the router and the route may want). */
export function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = fn();
      done = true;
    }
    return value;
  };
}
