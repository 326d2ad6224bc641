/**
 * Spans whose SDK half is created when they end. A routed request starts two spans (the server span, the GenAI
 * client span under it) before it can send its body upstream, and on a busy machine each cost ~0.1 ms there, most of
 * a routed request's added time to first token. What the request needs of them before they end is only their ids
 * (the upstream's `traceparent`, the parent of every child span, the usage row's trace id): so the ids are drawn at
 * once, and the SDK span is started with those ids and the original start time when the span ends, then ended.
 * Attributes, events and status set in between are kept and applied in order, with the times they were set at.
 * Nothing is lost by the wait: no span processor here does anything when a span starts (a span is exported when it
 * ends), and a span that never ends was never exported either. Starting it later, after the upstream write, was
 * measured first: the upstream's answer then waited for it.
 *
 * Only where the result is the same as starting the span at once: the daemon's own id generator is in place (so the
 * SDK takes the chosen ids) and the sampler is the SDK's default, which records a root span and follows its parent
 * otherwise. Anything else (a span under an unsampled parent, suppressed tracing, the CLI, tests without the
 * daemon's setup) starts its span at once, as before.
 */
import {
  trace,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  type TimeInput,
} from "@opentelemetry/api";
import { isTimeInput, isTracingSuppressed } from "@opentelemetry/core";
import { tracer } from "./spans.js";
import type { TimeOrderedIdGenerator } from "./span-ids.js";

let ids: TimeOrderedIdGenerator | undefined;

/** Called by the daemon's setup once its id generator is the SDK's and the sampler is the default one. */
export function enableDeferredSpans(generator: TimeOrderedIdGenerator | undefined): void {
  ids = generator;
}

export interface DeferredSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
}

/** A span started as `tracer().startSpan(name, options, parent)` would be, its SDK half created when it ends. */
export function startDeferredSpan(name: string, options: DeferredSpanOptions, parent: Context): Span {
  if (!ids || isTracingSuppressed(parent)) return tracer().startSpan(name, options, parent);
  const parentContext = trace.getSpanContext(parent);
  const child = parentContext !== undefined && trace.isSpanContextValid(parentContext);
  // The default sampler drops the children of an unsampled parent: the SDK makes those spans, cheaply, itself.
  if (child && (parentContext.traceFlags & TraceFlags.SAMPLED) === 0) return tracer().startSpan(name, options, parent);
  const spanContext: SpanContext = {
    traceId: child ? parentContext.traceId : ids.generateTraceId(),
    spanId: ids.generateSpanId(),
    traceFlags: TraceFlags.SAMPLED,
    ...(child && parentContext.traceState ? { traceState: parentContext.traceState } : {}),
  };
  return new DeferredSpan(ids, name, options, parent, spanContext);
}

class DeferredSpan implements Span {
  #sdk: Span | undefined;
  /** What was done to the span before it ended, replayed on its SDK half in order. */
  #pending: ((span: Span) => void)[] = [];
  /** The start as the SDK takes it (epoch ms, as its own spans start), and the clock that times from there. */
  readonly #startMs = Date.now();
  readonly #startPerf = performance.now();

  constructor(
    private readonly generator: TimeOrderedIdGenerator,
    private readonly name: string,
    private readonly options: DeferredSpanOptions,
    private readonly parent: Context,
    private readonly context: SpanContext,
  ) {}

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: AttributeValue): this {
    return this.#do((span) => span.setAttribute(key, value));
  }

  setAttributes(attributes: Attributes): this {
    return this.#do((span) => span.setAttributes(attributes));
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    // The time is taken now, not when the event reaches the SDK span.
    const attributes = isTimeInput(attributesOrStartTime) ? undefined : attributesOrStartTime;
    const time = startTime ?? (isTimeInput(attributesOrStartTime) ? attributesOrStartTime : this.#now());
    return this.#do((span) => span.addEvent(name, attributes, time));
  }

  addLink(link: Link): this {
    return this.#do((span) => span.addLink(link));
  }

  addLinks(links: Link[]): this {
    return this.#do((span) => span.addLinks(links));
  }

  setStatus(status: SpanStatus): this {
    return this.#do((span) => span.setStatus(status));
  }

  updateName(name: string): this {
    return this.#do((span) => span.updateName(name));
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const at = time ?? this.#now();
    this.#do((span) => span.recordException(exception, at));
  }

  end(endTime?: TimeInput): void {
    const at = endTime ?? this.#now();
    this.#create().end(at);
  }

  isRecording(): boolean {
    return this.#sdk ? this.#sdk.isRecording() : true;
  }

  #do(op: (span: Span) => void): this {
    if (this.#sdk) op(this.#sdk);
    else this.#pending.push(op);
    return this;
  }

  /** Now, on the span's own clock (the SDK's way: the start's wall time plus the monotonic time since). */
  #now(): number {
    return this.#startMs + (performance.now() - this.#startPerf);
  }

  #create(): Span {
    if (this.#sdk) return this.#sdk;
    const { traceId, spanId } = this.context;
    const span = this.generator.withIds(traceId, spanId, () =>
      tracer().startSpan(this.name, { ...this.options, startTime: this.#startMs }, this.parent),
    );
    this.#sdk = span;
    for (const op of this.#pending) op(span);
    this.#pending = [];
    return span;
  }
}
