/**
 * An HTTP/1.x response head, parsed: what the range client needs to know of it to read the body that follows
 * (its length or that the close ends it) and whether the connection can serve the next request.
 */
import { RangeProtocolError } from "./range-types.js";

export interface ParsedResponseHead {
  status: number;
  headers: Headers;
  /** Body bytes announced by Content-Length; Infinity when the body ends with the connection (or is chunked). */
  length: number;
  chunked: boolean;
  /** Content-Length known, not chunked, and no `Connection: close`: the connection may be reused after the body. */
  keepAlive: boolean;
}

/**
 * Parse the head's text (status line and header lines, without the blank line). Throws RangeProtocolError (retryable:
 * a proxy's glitch may pass) on a malformed status line or a header line Headers refuses; skips lines without a name.
 */
export function parseResponseHead(text: string): ParsedResponseHead {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!m) throw new RangeProtocolError(`malformed status line "${(lines[0] ?? "").slice(0, 60)}"`, true);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    try {
      headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
    } catch {
      // Headers refuses a name or value HTTP does not allow (a space in the name, a NUL): thrown from the socket's
      // read callback, that TypeError would have been uncaught and ended the daemon.
      throw new RangeProtocolError(`malformed header line "${line.slice(0, 60)}"`, true);
    }
  }
  const status = Number(m[1]);
  if (status < 100 || status > 599) throw new RangeProtocolError(`malformed status line "${lines[0]!.slice(0, 60)}"`, true);
  const contentLength = bodyLength(headers.get("content-length"));
  const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
  const known = contentLength !== undefined && !chunked;
  return {
    status,
    headers,
    length: known ? contentLength : Infinity,
    chunked,
    keepAlive: known && !/close/i.test(headers.get("connection") ?? ""),
  };
}

/**
 * Content-Length as a number (undefined when absent). Repeated headers arrive joined by commas and are accepted when
 * they agree, as RFC 9110 allows; anything else (a sign, a fraction, disagreeing values) is refused, since the body's
 * end could not be found.
 */
function bodyLength(value: string | null): number | undefined {
  if (value === null) return undefined;
  const values = new Set(value.split(",").map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,16}$/.test(only!)) throw new RangeProtocolError(`invalid Content-Length "${value.slice(0, 60)}"`, true);
  return Number(only);
}
