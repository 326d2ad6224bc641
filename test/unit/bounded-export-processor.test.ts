import { expect } from "chai";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { ExportResultCode, isTracingSuppressed, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { BoundedExportProcessor } from "../../src/observability/bounded-export-processor.js";
import { fromSpanRecord } from "../../src/observability/span-record.js";

/** An exporter whose answers the test controls: each export waits until answered (or forever). */
class ControlledExporter implements SpanExporter {
  readonly batches: ReadableSpan[][] = [];
  /** Whether tracing was suppressed while each batch was handed over (its HTTP request must make no span). */
  readonly suppressed: boolean[] = [];
  private readonly pending: ((r: ExportResult) => void)[] = [];
  shutdowns = 0;
  constructor(private readonly hangOnShutdown = true) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.batches.push(spans);
    this.suppressed.push(isTracingSuppressed(context.active()));
    this.pending.push(done);
  }
  answer(code: ExportResultCode): void {
    this.pending.shift()?.({ code, ...(code === ExportResultCode.FAILED ? { error: new Error("connect ECONNREFUSED") } : {}) });
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
    if (this.hangOnShutdown) await new Promise(() => {}); // a dead backend: never settles
  }
}

function span(i: number): ReadableSpan {
  const id = i.toString(16).padStart(16, "0");
  return fromSpanRecord(
    { trace_id: id.padStart(32, "0"), span_id: id, parent_span_id: null, name: `s${i}`, service: "mlxm-cli", kind: 0, start_ms: 1_000, duration_ms: 5, status_code: 1, status_message: null, attributes: {}, events: [] },
    {},
  );
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(condition()).to.equal(true);
}

describe("BoundedExportProcessor", () => {
  it("keeps one export in flight, bounds its queue and counts what it drops", async () => {
    const exporter = new ControlledExporter();
    const dropped: number[] = [];
    const p = new BoundedExportProcessor(exporter, { name: "otlp", endpoint: "http://x", maxQueueSize: 4, maxBatchSize: 2, scheduledDelayMs: 0, onDropped: (n) => dropped.push(n) });
    p.enqueue([span(1), span(2)]);
    await until(() => exporter.batches.length === 1);
    p.enqueue([span(3), span(4), span(5), span(6), span(7)]); // room for 4 while the first batch hangs
    expect(exporter.batches).to.have.length(1);
    expect(p.state()).to.include({ queued: 6, dropped: 1, exported: 0 });
    exporter.answer(ExportResultCode.SUCCESS);
    await until(() => exporter.batches.length === 2);
    exporter.answer(ExportResultCode.FAILED);
    await until(() => p.state().dropped === 3);
    const state = p.state();
    expect(state).to.include({ name: "otlp", exported: 2, dropped: 3 });
    expect(state.last_success).to.be.a("string");
    expect(state.last_error).to.equal("connect ECONNREFUSED");
    expect(dropped).to.deep.equal([1, 2]);
  });

  it("closes within its grace whatever the backend does, dropping what is queued and in flight", async () => {
    const exporter = new ControlledExporter();
    const p = new BoundedExportProcessor(exporter, { name: "logfire", endpoint: "http://x", maxBatchSize: 2, scheduledDelayMs: 0, exportTimeoutMs: 3_600_000 });
    p.enqueue([span(1), span(2), span(3)]);
    await until(() => exporter.batches.length === 1);
    // The backend never answers and its shutdown never settles: close still returns, after its grace.
    expect(await p.close(20)).to.equal(3);
    expect(exporter.shutdowns).to.equal(1);
    expect(p.state()).to.include({ dropped: 3, queued: 0, exported: 0 });
    p.enqueue([span(4)]);
    expect(p.state().dropped).to.equal(4);
    expect(await p.close(20)).to.equal(0);
  });

  it("exports untraced, so an exporter's own request never becomes a span to export (an endless loop)", async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const exporter = new ControlledExporter(false);
      const p = new BoundedExportProcessor(exporter, { name: "otlp", endpoint: "http://x", scheduledDelayMs: 1 });
      p.enqueue([span(1)]);
      await until(() => exporter.batches.length === 1);
      exporter.answer(ExportResultCode.SUCCESS);
      expect(exporter.suppressed).to.deep.equal([true]);
      await p.close(1000);
    } finally {
      context.disable();
    }
  });

  it("sends what is queued on close when the backend answers", async () => {
    const exporter = new ControlledExporter(false);
    const p = new BoundedExportProcessor(exporter, { name: "otlp", endpoint: "http://x", scheduledDelayMs: 3_600_000 });
    p.enqueue([span(1), span(2)]);
    const closing = p.close(3_600_000);
    await until(() => exporter.batches.length === 1);
    exporter.answer(ExportResultCode.SUCCESS);
    expect(await closing).to.equal(0);
    expect(p.state()).to.include({ exported: 2, dropped: 0, queued: 0 });
    expect(exporter.shutdowns).to.equal(1);
  });
});
