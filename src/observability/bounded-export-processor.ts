/**
 * The span processor in front of every remote exporter (Logfire, an OTLP collector). A backend that is down,
 * refuses connections or never answers must not hold the daemon hostage, so everything here is bounded: one
 * export in flight at a time, each with a deadline; a queue of fixed size whose overflow is dropped and counted;
 * no retry beyond the exporter's own (itself bounded by its timeout); and a shutdown that gives the backend a
 * short last chance and then drops what is left. The local span store never goes through this: it is complete.
 */
import { ExportResultCode, suppressTracing, type ExportResult } from "@opentelemetry/core";
import { context, type Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ExporterState } from "../protocol/native.js";

export interface BoundedExportOptions {
  /** Shown in `/api/health` and `mlxm daemon status`: "logfire" or "otlp". */
  name: string;
  /** Where the spans go (no credentials in it). */
  endpoint: string;
  /** Spans held while an export is in flight; more are dropped. */
  maxQueueSize?: number;
  maxBatchSize?: number;
  /** How long spans wait to be batched. */
  scheduledDelayMs?: number;
  /** The deadline of one export; the exporter's own timeout should be the same or shorter. */
  exportTimeoutMs?: number;
  /** Called with how many spans were dropped, as they are. */
  onDropped?: (count: number) => void;
}

export class BoundedExportProcessor implements SpanProcessor {
  readonly name: string;
  readonly endpoint: string;
  private readonly maxQueueSize: number;
  private readonly maxBatchSize: number;
  private readonly scheduledDelayMs: number;
  private readonly exportTimeoutMs: number;
  private queue: ReadableSpan[] = [];
  private inFlight: Promise<void> | undefined;
  private inFlightCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private exported = 0;
  private dropped = 0;
  private lastSuccess: Date | undefined;
  private lastError: { at: Date; message: string } | undefined;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly options: BoundedExportOptions,
  ) {
    this.name = options.name;
    this.endpoint = options.endpoint;
    this.maxQueueSize = options.maxQueueSize ?? 2048;
    this.maxBatchSize = options.maxBatchSize ?? 512;
    this.scheduledDelayMs = options.scheduledDelayMs ?? 1000;
    this.exportTimeoutMs = options.exportTimeoutMs ?? 5000;
  }

  onStart(_span: Span, _ctx: Context): void {}

  onEnd(span: ReadableSpan): void {
    // Unsampled spans are not exported, as with the SDK's own processors.
    if ((span.spanContext().traceFlags & 1) === 0) return;
    this.enqueue([span]);
  }

  /** Queue spans that did not end in this process (the CLI's); what does not fit is dropped and counted. */
  enqueue(spans: ReadableSpan[]): void {
    if (this.closed) return this.drop(spans.length);
    const room = Math.max(0, this.maxQueueSize - this.queue.length);
    if (spans.length > room) this.drop(spans.length - room);
    this.queue.push(...spans.slice(0, room));
    this.schedule();
  }

  /** Export what is queued now, within one export deadline per batch. */
  async forceFlush(): Promise<void> {
    if (this.closed) return;
    const deadline = Date.now() + this.exportTimeoutMs;
    await this.drain(deadline);
  }

  /** Final flush with the default deadline; the daemon calls `close(graceMs)` itself with its own. */
  shutdown(): Promise<void> {
    return this.close(this.exportTimeoutMs).then(() => {});
  }

  /**
   * The last chance: export what is queued until `graceMs` has passed, then drop the rest (and whatever is still
   * in flight). Returns how many spans this dropped. Safe to call twice.
   */
  async close(graceMs: number): Promise<number> {
    if (this.closed) return 0;
    const before = this.dropped;
    clearTimeout(this.timer);
    const deadline = Date.now() + graceMs;
    await this.drain(deadline);
    this.closed = true;
    this.drop(this.queue.length + this.inFlightCount);
    this.queue = [];
    this.inFlightCount = 0;
    // The exporter's shutdown may wait on the same dead backend: give it what is left of the grace, no more.
    await withDeadline(this.exporter.shutdown().catch(() => {}), Math.max(0, deadline - Date.now()));
    return this.dropped - before;
  }

  /** What `/api/health` reports about this exporter. */
  state(): ExporterState {
    return {
      name: this.name,
      endpoint: this.endpoint,
      exported: this.exported,
      dropped: this.dropped,
      queued: this.queue.length + this.inFlightCount,
      last_success: this.lastSuccess?.toISOString() ?? null,
      last_error: this.lastError?.message ?? null,
      last_error_at: this.lastError?.at.toISOString() ?? null,
    };
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const delay = this.queue.length >= this.maxBatchSize ? 0 : this.scheduledDelayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exportNext().then(() => {
        if (this.queue.length) this.schedule();
      });
    }, delay);
    // A pending batch must never keep the process alive.
    this.timer.unref();
  }

  private async drain(deadline: number): Promise<void> {
    while (Date.now() < deadline && (this.queue.length || this.inFlight)) {
      const remaining = deadline - Date.now();
      const ok = await withDeadline(this.exportNext().then(() => true), remaining);
      if (!ok) return;
      // A failed export means the backend is down: do not spend the rest of the deadline on it.
      if (this.lastError && (!this.lastSuccess || this.lastError.at > this.lastSuccess)) return;
    }
  }

  /** Export the next batch, or wait for the one in flight. One at a time: a hanging backend holds one batch. */
  private exportNext(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    const batch = this.queue.splice(0, this.maxBatchSize);
    this.inFlightCount = batch.length;
    this.inFlight = this.exportBatch(batch).finally(() => {
      this.inFlight = undefined;
      this.inFlightCount = 0;
    });
    return this.inFlight;
  }

  private async exportBatch(batch: ReadableSpan[]): Promise<void> {
    const result = await withDeadline(
      new Promise<ExportResult>((resolve) => {
        try {
          // Untraced, as the SDK's own processors export: the exporter's HTTP request would otherwise be a span,
          // exported in the next batch, whose request is a span... an idle daemon exporting once a second forever.
          context.with(suppressTracing(context.active()), () => this.exporter.export(batch, resolve));
        } catch (error) {
          resolve({ code: ExportResultCode.FAILED, error: error as Error });
        }
      }),
      this.exportTimeoutMs,
    );
    if (this.closed) return; // close() has already counted this batch as dropped
    if (result?.code === ExportResultCode.SUCCESS) {
      this.exported += batch.length;
      this.lastSuccess = new Date();
      return;
    }
    this.lastError = { at: new Date(), message: result ? describe(result.error) : `no answer within ${this.exportTimeoutMs} ms` };
    this.drop(batch.length);
  }

  private drop(count: number): void {
    if (count <= 0) return;
    this.dropped += count;
    this.options.onDropped?.(count);
  }
}

/** The promise's value, or undefined once `ms` have passed (the promise is left to settle on its own). */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: Error | undefined): string {
  if (!error) return "export failed";
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
  return cause ? `${error.message} (${cause})` : error.message;
}
