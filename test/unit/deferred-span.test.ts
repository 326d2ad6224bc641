/**
 * Deferred spans (observability/deferred-span.ts) against the real SDK with an in-memory exporter: the span the SDK
 * exports when one ends is the span its users saw while it ran: the same ids, its start, everything set on it in
 * order and at the time it was set, and the children started under it.
 */
import { expect } from "chai";
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { hrTimeToMilliseconds } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { enableDeferredSpans, startDeferredSpan } from "../../src/observability/deferred-span.js";
import { TimeOrderedIdGenerator } from "../../src/observability/span-ids.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("deferred spans", () => {
  const exporter = new InMemorySpanExporter();
  const ids = new TimeOrderedIdGenerator();

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ idGenerator: ids, spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    enableDeferredSpans(ids);
  });
  after(() => {
    enableDeferredSpans(undefined);
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it("exports, when it ends, the span its users saw: ids, start, attributes, events and status in order, children", async () => {
    const started = Date.now();
    const span = startDeferredSpan("POST /v1/chat/completions", { kind: SpanKind.SERVER, attributes: { "http.request.method": "POST" } }, ROOT_CONTEXT);
    const startReturned = Date.now();
    const { traceId, spanId, traceFlags } = span.spanContext();
    expect(traceId).to.match(/^[0-9a-f]{32}$/);
    expect(spanId).to.match(/^[0-9a-f]{16}$/);
    expect(traceFlags).to.equal(TraceFlags.SAMPLED);
    expect(span.isRecording()).to.equal(true);
    expect(exporter.getFinishedSpans(), "nothing reaches the SDK before the span ends").to.deep.equal([]);

    span.setAttribute("mlxm.request_id", "req_1");
    span.setAttribute("mlxm.request_id", "req_2"); // the later value wins, as on an SDK span
    await sleep(20);
    const beforeEvent = Date.now();
    span.addEvent("first token", { n: 1 });
    const eventAt = Date.now();
    // A child started under it while it runs: the SDK starts that one at once, with the deferred span as parent.
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => trace.getTracer("t").startSpan("child").end());
    span.recordException(new Error("upstream went away"));
    span.setStatus({ code: SpanStatusCode.ERROR, message: "failed" });
    span.updateName("POST /v1/chat/completions (routed)");
    await sleep(20);
    span.end();
    const ended = Date.now();

    const [child, server] = exporter.getFinishedSpans();
    expect(child!.name).to.equal("child");
    expect(child!.parentSpanContext?.spanId).to.equal(spanId);
    expect(child!.spanContext().traceId).to.equal(traceId);
    expect(server!.spanContext()).to.include({ traceId, spanId });
    expect(server!.name).to.equal("POST /v1/chat/completions (routed)");
    expect(server!.kind).to.equal(SpanKind.SERVER);
    expect(server!.attributes).to.deep.equal({ "http.request.method": "POST", "mlxm.request_id": "req_2" });
    // Started when it was started, not when the SDK saw it; it lasted the whole ~40 ms. Times are bracketed by clock
    // readings around the calls (a fixed tolerance failed when a busy machine paused the test for 8 ms).
    const startMs = hrTimeToMilliseconds(server!.startTime);
    expect(startMs).to.be.within(started - 1, startReturned + 1);
    expect(hrTimeToMilliseconds(server!.duration)).to.be.within(35, ended - started + 1);
    expect(server!.events.map((e) => e.name)).to.deep.equal(["first token", "exception"]);
    expect(hrTimeToMilliseconds(server!.events[0]!.time)).to.be.within(beforeEvent - 2, eventAt + 2);
    expect(server!.events[0]!.attributes).to.deep.equal({ n: 1 });
    expect(server!.status).to.deep.equal({ code: SpanStatusCode.ERROR, message: "failed" });
  });

  it("takes its trace from its parent, and leaves a span under an unsampled parent to the SDK (which drops it)", () => {
    const parent = trace.getTracer("t").startSpan("parent");
    const child = startDeferredSpan("chat gpt-4o", { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, parent));
    expect(child.spanContext().traceId).to.equal(parent.spanContext().traceId);
    child.end();
    parent.end();
    const [exportedChild] = exporter.getFinishedSpans();
    expect(exportedChild!.parentSpanContext?.spanId).to.equal(parent.spanContext().spanId);

    const unsampled = trace.wrapSpanContext({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.NONE, isRemote: true });
    const dropped = startDeferredSpan("GET /api/tags", { kind: SpanKind.SERVER }, trace.setSpan(ROOT_CONTEXT, unsampled));
    expect(dropped.isRecording()).to.equal(false);
    expect(dropped.spanContext().traceFlags).to.equal(TraceFlags.NONE);
  });

  it("ends once: a second end changes nothing", () => {
    const span = startDeferredSpan("once", {}, ROOT_CONTEXT);
    span.end();
    span.setAttribute("late", true);
    span.end();
    expect(exporter.getFinishedSpans()).to.have.length(1);
    expect(exporter.getFinishedSpans()[0]!.attributes).to.deep.equal({});
  });
});
