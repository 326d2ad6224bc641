/**
 * The daemon's HTTP server span, made here rather than by @opentelemetry/instrumentation-http's incoming side.
 * What it records is what that instrumentation recorded (stable HTTP semantic conventions, the caller's
 * `traceparent` as parent, `http.route` and the name `POST /v1/chat/completions` once the route is known, ERROR
 * for 5xx, nothing at all for scrapes and span uploads), for less: measured in one interleaved run of
 * `bench/routing-overhead.ts` (paced, 300 samples, twice), a routed request's added time to first token fell by
 * 0.40-0.45 ms (p90 by 1.0-2.3 ms) and its CPU by 0.3-0.6 ms. The instrumentation also wraps every listener of
 * the request and the response in its context and records a histogram nothing reads. The instrumentation's outgoing
 * side still traces pulls and Hub calls; the pass-through records its upstream call on its GenAI span and sends
 * `traceparent` itself (routing/forward-transport.ts).
 *
 * The span is a deferred one (observability/deferred-span.ts): its ids exist at once, its SDK span is made when it
 * ends, which keeps that work off a routed request's way to its upstream.
 *
 * Mounted first, so everything after it runs in the span's context. Listeners added to the request and response
 * later run in the context that emits them (the socket's), not the request's; the few that log bind themselves
 * (`inRequestContext`).
 */
import { errorMonitor } from "node:events";
import type { IncomingMessage } from "node:http";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import { RPCType, setRPCMetadata, suppressTracing, type RPCMetadata } from "@opentelemetry/core";
import type { NextFunction, Request, Response } from "express";
import { startDeferredSpan } from "../../observability/deferred-span.js";
import { recordError } from "../../observability/spans.js";
import { routeTemplate } from "./route-template.js";

/** Where the span sits on the request, for middleware that adds attributes to it (`serverSpanOf`). */
const SERVER_SPAN = Symbol.for("mlxm.serverSpan");

/** The request's server span; undefined for requests that get none (scrapes, span uploads). */
export function serverSpanOf(req: IncomingMessage): Span | undefined {
  return (req as unknown as Record<symbol, Span | undefined>)[SERVER_SPAN];
}

/** Set on a response whose 5xx is an expected answer (see `expectedUnavailable`). */
const EXPECTED = Symbol.for("mlxm.expectedUnavailable");

/**
 * Mark `res`'s coming 5xx as an answer the caller expects, not a failure: `/api/health` says 503 "starting" to the
 * polls of `mlxm daemon start` (and autostart) until start-up ends, and an ERROR span per poll marked every
 * successful start's trace as failed. The span records the status and a `not ready` event instead.
 */
export function expectedUnavailable(res: Response): void {
  (res as unknown as Record<symbol, boolean>)[EXPECTED] = true;
}

/** Requests that get no span and run with tracing suppressed: scrapes and span uploads would drown real traces. */
function untracedRequest(req: IncomingMessage): boolean {
  return req.url === "/metrics" || (req.method === "POST" && req.url === "/api/traces") || Boolean(req.url?.startsWith("/api/traces/follow"));
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

export function serverSpan(req: Request, res: Response, next: NextFunction): void {
  if (untracedRequest(req)) {
    context.with(suppressTracing(context.active()), next);
    return;
  }
  const span = startDeferredSpan(
    METHODS.has(req.method) ? req.method : "HTTP",
    { kind: SpanKind.SERVER, attributes: requestAttributes(req) },
    propagation.extract(ROOT_CONTEXT, req.headers),
  );
  (req as unknown as Record<symbol, Span>)[SERVER_SPAN] = span;
  const metadata: RPCMetadata = { type: RPCType.HTTP, span };
  let failed = false;
  res.once(errorMonitor, (err: Error) => {
    failed = true;
    recordError(span, err);
    span.end();
  });
  res.once("close", () => {
    if (failed) return;
    const status = res.statusCode;
    span.setAttribute("http.response.status_code", status);
    // A response that never started (its client left while the request waited in a queue) set no route at writeHead.
    const route = metadata.route ?? routeTemplate(req, res);
    if (route !== undefined) {
      span.setAttribute("http.route", route);
      span.updateName(`${req.method} ${route}`);
    }
    if (status >= 500 && (res as unknown as Record<symbol, boolean>)[EXPECTED]) {
      span.addEvent("not ready", { "http.response.status_code": status });
    } else if (status >= 500) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  });
  context.with(setRPCMetadata(trace.setSpan(context.active(), span), metadata), next);
}

/** `fn` bound to the request's context: for response listeners that log (trace ids) or trace. */
export function inRequestContext<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return context.bind(context.active(), fn);
}

function requestAttributes(req: Request): Attributes {
  const method = METHODS.has(req.method) ? req.method : "_OTHER";
  const url = req.originalUrl;
  const q = url.indexOf("?");
  const host = req.headers.host;
  const colon = host ? host.lastIndexOf(":") : -1;
  const attributes: Attributes = {
    "http.request.method": method,
    "url.scheme": "http",
    "url.path": q < 0 ? url : url.slice(0, q),
    "network.protocol.version": req.httpVersion,
    "network.peer.address": req.socket.remoteAddress,
    "network.peer.port": req.socket.remotePort,
    "client.address": req.socket.remoteAddress,
  };
  if (method !== req.method) attributes["http.request.method_original"] = req.method;
  if (host) {
    const hasPort = colon > 0 && !host.endsWith("]");
    attributes["server.address"] = hasPort ? host.slice(0, colon) : host;
    if (hasPort) attributes["server.port"] = Number(host.slice(colon + 1));
  }
  const agent = req.headers["user-agent"];
  if (agent) attributes["user_agent.original"] = agent;
  if (q >= 0) attributes["url.query"] = url.slice(q + 1);
  return attributes;
}
