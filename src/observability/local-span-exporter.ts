/**
 * Writes finished spans to the local span store (SQLite, the daemon's database). Observability starts before
 * the store opens, so spans ended before `attach` wait in a bounded buffer. Its own writes run with tracing
 * suppressed, or every export would trace its own INSERT forever.
 */
import { context } from "@opentelemetry/api";
import { ExportResultCode, suppressTracing, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { SpanRecord } from "../protocol/traces.js";
import { toSpanRecord } from "./span-record.js";

export interface SpanSink {
  insert(spans: SpanRecord[]): Promise<void>;
}

const MAX_PENDING = 10_000;

export class LocalSpanExporter implements SpanExporter {
  private sink: SpanSink | undefined;
  private pending: SpanRecord[] = [];
  /** Told of every batch once it is in the store (the daemon pushes finished traces to followers). */
  onWritten: ((records: SpanRecord[]) => void) | undefined;

  /** Start writing to the store; spans buffered so far are written first. */
  async attach(sink: SpanSink): Promise<void> {
    this.sink = sink;
    const buffered = this.pending;
    this.pending = [];
    await this.write(buffered);
  }

  /** Stop writing (the store is closing); later spans are buffered again. */
  detach(): void {
    this.sink = undefined;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const records = spans.map(toSpanRecord);
    if (!this.sink) {
      this.pending.push(...records);
      if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
      done({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.write(records).then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  /** Write records that did not come through the SDK (the CLI's spans). */
  write(records: SpanRecord[]): Promise<void> {
    const sink = this.sink;
    if (!sink || records.length === 0) return Promise.resolve();
    return context.with(suppressTracing(context.active()), () => sink.insert(records)).then(() => this.onWritten?.(records));
  }

  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}
