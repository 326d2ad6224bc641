/**
 * The range client's HTTP/1.1 heads on the wire: the request head it writes (and the credentials it keeps to their
 * origin), and the response head it parses into what it needs to read the body that follows (its length, or that the
 * close ends it) and whether the connection can serve the next request.
 */
import { RangeProtocolError } from "./range-types.js";

/** The head of a GET for `url` with `headers` (Host and Connection are the client's own); refuses CR or LF in one. */
export function requestHead(url: URL, headers: Record<string, string>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [k, v] of Object.entries(headers)) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new RangeProtocolError(`invalid header ${k}`, false);
    if (k.toLowerCase() === "host" || k.toLowerCase() === "connection") continue;
    lines.push(`${k}: ${v}`);
  }
  lines.push("Connection: keep-alive", "", "");
  return lines.join("\r\n");
}

/** `headers` without the ones that prove who is asking: they stay on the origin they were meant for. */
export function withoutCredentials(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !["authorization", "cookie"].includes(k.toLowerCase())));
}

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
  const m = /^HTTP\/1\.[01] ([1-5]\d\d)/.exec(lines[0] ?? "");
  if (!m) throw new RangeProtocolError(`malformed status line "${(lines[0] ?? "").slice(0, 60)}"`, true);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    try {
      headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
    } catch {
      // Headers refuses a name or value HTTP does not allow (a space in the name, a NUL): a protocol error the
      // downloader may retry, not its TypeError.
      throw new RangeProtocolError(`malformed header line "${line.slice(0, 60)}"`, true);
    }
  }
  const contentLength = bodyLength(headers.get("content-length"));
  const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
  const known = contentLength !== undefined && !chunked;
  return {
    status: Number(m[1]),
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
  if (values.size !== 1 || !/^\d{1,16}$/.test(only!)) {
    throw new RangeProtocolError(`invalid Content-Length "${value.slice(0, 60)}"`, true);
  }
  return Number(only);
}
