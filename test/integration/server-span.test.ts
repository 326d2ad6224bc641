/**
 * The daemon's own HTTP server span (daemon/http/server-span.ts), on a real Express app and real HTTP, with an
 * in-memory SDK: what instrumentation-http recorded before, the parent from `traceparent`, no span for scrapes.
 */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { hrTimeToMilliseconds, W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import express from "express";
import { expectedUnavailable, serverSpan } from "../../src/daemon/http/server-span.js";
import { attributeRoute, recordMountPath } from "../../src/daemon/http/route-template.js";
import { enableDeferredSpans } from "../../src/observability/deferred-span.js";
import { TimeOrderedIdGenerator } from "../../src/observability/span-ids.js";
import { until } from "../helpers/until.js";

// Both ways the daemon may start it: at once, or (its own id generator in place) with its SDK half made when it ends.
for (const deferred of [false, true]) describe(`daemon server span (${deferred ? "deferred to its end" : "started at once"})`, () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager();
  let server: http.Server;
  let base: string;
  let childParent: string | undefined;
  let waiting = false;

  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const ids = new TimeOrderedIdGenerator();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)], ...(deferred ? { idGenerator: ids } : {}) }));
    enableDeferredSpans(deferred ? ids : undefined);
    const app = express();
    app.use(serverSpan);
    app.use(attributeRoute);
    const api = express.Router();
    api.post("/items/:id", express.json(), (req, res) => {
      // Work after the body was read still runs inside the request's span.
      childParent = trace.getActiveSpan()?.spanContext().spanId;
      trace.getTracer("test").startSpan("child").end();
      res.json({ id: req.params.id, body: req.body });
    });
    // Answers nothing: stands for a request waiting in a queue until its client gives up.
    api.post("/wait", (_req, _res) => {
      waiting = true;
    });
    api.get("/health", (_req, res) => {
      expectedUnavailable(res);
      res.status(503).json({ status: "starting" });
    });
    api.get("/boom", (_req, res) => {
      res.status(503).json({ error: "down" });
    });
    app.use("/api", recordMountPath, api);
    app.get("/metrics", (_req, res) => {
      trace.getTracer("test").startSpan("scrape work").end();
      res.send("ok");
    });
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    enableDeferredSpans(undefined);
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  const finished = async (count: number) => {
    for (let i = 0; i < 100 && exporter.getFinishedSpans().length < count; i++) await new Promise((r) => setTimeout(r, 5));
    return exporter.getFinishedSpans();
  };

  it("names the span by route, records the stable HTTP attributes, and parents it on the caller's traceparent", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const res = await fetch(`${base}/api/items/42?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-b7ad6b7169203331-01`, "user-agent": "t/1" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(res.status).to.equal(200);
    const spans = await finished(2);
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.name).to.equal("POST /api/items/:id");
    expect(server.spanContext().traceId).to.equal(traceId);
    expect(server.parentSpanContext?.spanId).to.equal("b7ad6b7169203331");
    expect(server.attributes).to.deep.include({
      "http.request.method": "POST",
      "url.scheme": "http",
      "url.path": "/api/items/42",
      "url.query": "x=1",
      "http.route": "/api/items/:id",
      "http.response.status_code": 200,
      "server.address": "127.0.0.1",
      "user_agent.original": "t/1",
    });
    expect(server.status.code).to.equal(SpanStatusCode.UNSET);
    const child = spans.find((s) => s.name === "child")!;
    expect(child.parentSpanContext?.spanId, "handler work after the body is its child").to.equal(server.spanContext().spanId);
    expect(childParent).to.equal(server.spanContext().spanId);
    expect(hrTimeToMilliseconds(server.startTime), "started when the request came, before its child").to.be.at.most(hrTimeToMilliseconds(child.startTime));
  });

  it("marks a 5xx answer as an error", async () => {
    expect((await fetch(`${base}/api/boom`)).status).to.equal(503);
    const [server] = await finished(1);
    expect(server!.name).to.equal("GET /api/boom");
    expect(server!.status.code).to.equal(SpanStatusCode.ERROR);
    expect(server!.attributes["error.type"]).to.equal("503");
  });

  it("names by route a request whose client left before any answer began (499 in its usage row)", async () => {
    const controller = new AbortController();
    const sent = fetch(`${base}/api/wait`, { method: "POST", body: "{}", signal: controller.signal }).catch(() => undefined);
    await until(() => waiting, "the request reached its handler");
    controller.abort();
    await sent;
    const [span] = await finished(1);
    expect(span!.name).to.equal("POST /api/wait");
    expect(span!.attributes["http.route"]).to.equal("/api/wait");
  });

  it("does not mark as an error a 503 its caller expects (a health poll while the daemon starts)", async () => {
    expect((await fetch(`${base}/api/health`)).status).to.equal(503);
    const [server] = await finished(1);
    expect(server!.name).to.equal("GET /api/health");
    expect(server!.status.code).to.equal(SpanStatusCode.UNSET);
    expect(server!.attributes["error.type"]).to.equal(undefined);
    expect(server!.attributes["http.response.status_code"]).to.equal(503);
    expect(server!.events.map((e) => e.name)).to.deep.equal(["not ready"]);
  });

  it("makes no span at all for a scrape, its own work included", async () => {
    expect((await fetch(`${base}/metrics`)).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(exporter.getFinishedSpans()).to.deep.equal([]);
  });
});
