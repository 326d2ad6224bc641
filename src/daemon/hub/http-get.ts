/**
 * A minimal GET over node:http/https with keep-alive, following redirects like fetch does (dropping Authorization
 * when a redirect leaves the origin). The downloader uses it instead of fetch because fetch's WHATWG streams cost
 * about 60% more CPU per byte on this path (measured: ~1.3 s vs ~0.8 s of CPU per GiB over 4 loopback connections),
 * and on a small machine the CPU is what bounds a fast download.
 */
import http from "node:http";
import https from "node:https";

/** The final (non-redirect) response. The body must be consumed or destroyed. */
export interface HttpGetResponse {
  status: number;
  headers: Headers;
  body: http.IncomingMessage;
  /** URL that answered, after redirects. */
  url: string;
}

/** Request options. */
export interface HttpGetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  maxRedirects?: number;
}

// Connections are reused across chunk requests (the CDN host stays the same for a whole file).
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 32 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 32 }),
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** GET `url`, following up to `maxRedirects` redirects (default 10). Rejects on network errors and aborts. */
export async function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpGetResponse> {
  let current = new URL(url);
  const headers: Record<string, string> = { ...options.headers };
  const max = options.maxRedirects ?? 10;
  for (let hop = 0; ; hop++) {
    const res = await request(current, headers, options.signal);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) {
      return { status: res.statusCode ?? 0, headers: toHeaders(res), body: res, url: current.toString() };
    }
    res.resume(); // discard the redirect's body so the socket returns to the pool
    if (hop >= max) throw new Error(`too many redirects fetching ${stripQuery(url)}`);
    const next = new URL(location, current);
    // As fetch does: credentials meant for one origin are never sent to another.
    if (next.origin !== current.origin) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === "authorization" || k.toLowerCase() === "cookie") delete headers[k];
    }
    current = next;
  }
}

function request(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const protocol = url.protocol as "http:" | "https:";
  const mod = protocol === "https:" ? https : http;
  if (!(protocol in agents)) return Promise.reject(new Error(`unsupported protocol ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: "GET", headers, agent: agents[protocol], signal }, resolve);
    req.once("error", reject);
    req.end();
  });
}

function toHeaders(res: http.IncomingMessage): Headers {
  const h = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  return h;
}

function stripQuery(url: string): string {
  return url.split("?")[0];
}
