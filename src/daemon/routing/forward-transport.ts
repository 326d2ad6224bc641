/**
 * Sends a pass-through call upstream over node:http(s) on kept-alive connections and returns the raw response.
 * Not through the SDK clients the core path uses: measured in one process against a local server, the SDK's
 * `client.post().asResponse()` costs ~1.3 ms of CPU per request, `fetch` ~0.9 and node:http ~0.3, and a
 * pass-through needs nothing the SDK adds on top of the request (it neither parses nor wraps the body). What the SDK
 * gave this path is kept: the same auth headers, base URLs and timeout (until the response headers arrive), and the
 * same bounded retries (connection errors, 408/409/429/5xx, `x-should-retry`) with backoff that honours
 * `retry-after-ms` and `retry-after`. One thing is deliberately stricter: a `retry-after` beyond a minute is not
 * waited out, so the router moves on to the fallback instead of holding the caller. Failures come back as the
 * UpstreamErrors the core path produces (upstream-errors.ts).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { context, propagation, trace } from "@opentelemetry/api";
import { selfTraced } from "../../observability/self-traced-agent.js";
import { VERSION } from "../../version.js";
import { sleep } from "../hub/hf-client.js";
import type { WireCall } from "./forward-call.js";
import { onwardVia } from "./loop-guard.js";
import { DEFAULT_TIMEOUT_MS, openAIBaseUrl, type UpstreamClientOptions } from "./upstream-clients.js";
import { scrubber, statusError, unreachable } from "./upstream-errors.js";

/**
 * Self-traced: the call is recorded on the caller's GenAI client span (forward-attempt.ts), and `traceparent` is sent
 * from here, so instrumentation-http's wrapper (an HTTP client span under the GenAI one, and a context bound to the
 * request and each of its listeners) is skipped. Measured with `bench/routing-overhead.ts` against the build before,
 * in one run, twice: the daemon's CPU per 1-token request 3.67/3.73 ms against 3.93/4.27, per streamed chunk
 * 550/605 us against 670/690.
 */
const AGENTS = { "http:": selfTraced(new http.Agent({ keepAlive: true })), "https:": selfTraced(new https.Agent({ keepAlive: true })) } as const;
/** The SDKs' own defaults, for routes with no base URL and no OPENAI_BASE_URL / ANTHROPIC_BASE_URL. */
const DEFAULT_BASE_URLS = { openai: "https://api.openai.com/v1", anthropic: "https://api.anthropic.com" } as const;
const ANTHROPIC_VERSION = "2023-06-01";
const MAX_RETRY_WAIT_MS = 60_000;
/** An error answer is read for its message only; a huge one is cut here. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The body sent upstream: the caller's, with the upstream model name and (OpenAI streams) usage requested. */
export function upstreamBody(call: WireCall, upstreamModel: string): Record<string, unknown> {
  const body: Record<string, unknown> = { ...call.body, model: upstreamModel };
  if (call.api === "openai" && call.stream && !call.includeUsage) {
    const options = call.body.stream_options;
    body.stream_options = { ...(options && typeof options === "object" ? options : {}), include_usage: true };
  }
  return body;
}

/** Where a call goes and the headers it carries (auth the way each vendor's SDK sends it). */
export function upstreamRequest(options: UpstreamClientOptions, call: WireCall): { url: URL; headers: Record<string, string> } {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json", "user-agent": `mlxm/${VERSION}`, ...onwardVia() };
  if (call.api === "anthropic") {
    const base = options.route.baseUrl ?? options.defaultBaseUrl ?? DEFAULT_BASE_URLS.anthropic;
    if (options.apiKey) headers["x-api-key"] = options.apiKey;
    headers["anthropic-version"] = ANTHROPIC_VERSION;
    return { url: parsedUrl(`${base.replace(/\/+$/, "")}/v1/${call.endpoint}`), headers: { ...headers, ...call.headers } };
  }
  const base = openAIBaseUrl(options) ?? DEFAULT_BASE_URLS.openai;
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  return { url: parsedUrl(`${base.replace(/\/+$/, "")}/${call.endpoint}`), headers };
}

/** Upstream URLs parsed once: a route's few endpoints are asked for on every call. Read only, never changed. */
const parsedUrls = new Map<string, URL>();
const MAX_PARSED_URLS = 256;

function parsedUrl(text: string): URL {
  let url = parsedUrls.get(text);
  if (!url) {
    url = new URL(text);
    if (parsedUrls.size >= MAX_PARSED_URLS) parsedUrls.clear();
    parsedUrls.set(text, url);
  }
  return url;
}

/**
 * The upstream's 2xx response, its body unread. Anything else throws an UpstreamError after the retries (or an
 * AbortError when `signal` fires). `signal` stays attached until the body ends: aborting it mid-stream closes the
 * connection, which is how an upstream learns that the caller went away.
 */
export async function sendForward(options: UpstreamClientOptions, call: WireCall, upstreamModel: string, label: string, signal: AbortSignal): Promise<IncomingMessage> {
  const { url, headers } = upstreamRequest(options, call);
  const body = Buffer.from(JSON.stringify(upstreamBody(call, upstreamModel)));
  const timeoutMs = options.route.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const scrub = scrubber(options.apiKey);
  // What the HTTP client span recorded before the agents became self-traced, on the caller's (GenAI) span.
  const span = trace.getActiveSpan();
  span?.setAttributes({ "server.address": url.hostname, "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)) });
  for (let attempt = 0; ; attempt++) {
    const retriesLeft = options.maxRetries - attempt;
    let response: IncomingMessage;
    try {
      response = await post(url, headers, body, timeoutMs, signal);
    } catch (err) {
      if (signal.aborted) throw abortError();
      if (retriesLeft > 0) {
        span?.addEvent("retry", { attempt: attempt + 1, "error.type": "connection" });
        await waitToRetry(backoffMs(attempt), signal);
        continue;
      }
      throw unreachable(label, err instanceof Error ? err.message : String(err), scrub);
    }
    const status = response.statusCode ?? 502;
    if (status >= 200 && status < 300) return response;
    const text = await readCapped(response, MAX_ERROR_BODY_BYTES);
    const wait = retriesLeft > 0 && shouldRetry(status, response.headers) ? retryWaitMs(response.headers, attempt) : undefined;
    if (wait === undefined) throw statusError(status, vendorMessage(text, status), header(response.headers, "retry-after"), label, scrub);
    span?.addEvent("retry", { attempt: attempt + 1, "http.response.status_code": status });
    await waitToRetry(wait, signal);
  }
}

/** The whole body of a response, parsed as JSON (a non-streamed answer). */
export async function readJson(response: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function post(url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const sent: Record<string, string> = { ...headers, "content-length": String(body.length) };
    // The upstream continues this trace (another mlxm daemon, a traced vLLM) under the caller's GenAI span.
    propagation.inject(context.active(), sent);
    // A ClientRequest made directly, as http(s).request makes it: those two are instrumentation-http's wrappers, which
    // turn the URL into options again only to find the request is one to leave alone (self-traced). The agent brings
    // TLS for https.
    const req = new http.ClientRequest({
      protocol: url.protocol,
      // A URL writes an IPv6 host in brackets; a request takes the bare address.
      hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: "POST",
      headers: sent,
      agent: url.protocol === "https:" ? AGENTS["https:"] : AGENTS["http:"],
    });
    const onAbort = () => req.destroy(abortError());
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s (timed out)`)), timeoutMs);
    req.once("response", (res) => {
      clearTimeout(timer);
      res.once("close", () => signal.removeEventListener("abort", onAbort));
      resolve(res);
    });
    req.once("error", (err) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
    req.end(body);
  });
}

/** As the SDKs decide: the server's `x-should-retry` first, then timeouts, lock conflicts, rate limits, 5xx. */
function shouldRetry(status: number, headers: IncomingHttpHeaders): boolean {
  const said = header(headers, "x-should-retry");
  if (said === "true") return true;
  if (said === "false") return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** `retry-after-ms`, else `retry-after` (seconds or a date), else exponential backoff; undefined: do not wait that long. */
function retryWaitMs(headers: IncomingHttpHeaders, attempt: number): number | undefined {
  const ms = Number.parseFloat(header(headers, "retry-after-ms") ?? "");
  const after = header(headers, "retry-after");
  let wait = Number.isNaN(ms) ? undefined : ms;
  if (wait === undefined && after !== undefined) {
    const seconds = Number.parseFloat(after);
    wait = Number.isNaN(seconds) ? Date.parse(after) - Date.now() : seconds * 1000;
    if (Number.isNaN(wait)) wait = undefined;
  }
  if (wait === undefined) return backoffMs(attempt);
  return wait > MAX_RETRY_WAIT_MS ? undefined : Math.max(0, wait);
}

/** The SDKs' backoff: 0.5 s doubling per attempt up to 8 s, less up to 25 % jitter. */
function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 8000) * (1 - Math.random() * 0.25);
}

/** The vendor's own error text (`{error:{message}}` for both vendors), else the start of the body. */
function vendorMessage(text: string, status: number): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } | string };
    const message = typeof body.error === "object" ? body.error?.message : (body.error ?? body.message);
    if (typeof message === "string") return message;
  } catch {
    // Not JSON: the text itself says what went wrong.
  }
  return text.trim().slice(0, 500) || `status ${status} with no body`;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readCapped(response: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => resolve(Buffer.concat(chunks).toString("utf8"));
    response.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) {
        response.destroy();
        done();
      }
    });
    response.once("end", done);
    response.once("error", done);
  });
}

/** The wait before a retry; the caller going away ends it as every other abort on this path does. */
function waitToRetry(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => {
    throw abortError();
  });
}

function abortError(): Error {
  const err = new Error("the caller went away");
  err.name = "AbortError";
  return err;
}
