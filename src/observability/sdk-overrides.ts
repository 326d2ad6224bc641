/**
 * Two corrections to the tracer provider logfire-node builds for the daemon, both for the cost of every span (a
 * routed request starts four or more on its way to the first byte).
 *
 * - Span processors. logfire-node puts three of its own in front of those it is given: a batch processor for its
 *   Logfire exporter, a "pending span" processor that, at the start of every span, builds an ended copy of it for
 *   that exporter, and its evals recorder. mlxm configures it with `sendToLogfire: false` (its Logfire export is one
 *   of its own bounded exporters), so the first exports to nothing, the second copies every span for it, and mlxm
 *   runs no evals.
 * - Ids. logfire-node gives the SDK its ULIDGenerator whatever `advanced.idGenerator` says (0.18.25 builds the SDK
 *   with `idGenerator: new ULIDGenerator()`), and that generator costs ~11 us per trace id (span-ids.ts). Every
 *   tracer shares the provider's one generator object, so its methods are replaced in place.
 *
 * Both reach into the SDK's internals (@opentelemetry/sdk-trace 2.12, pinned). When an upgrade moves them, nothing
 * is changed and the daemon traces as before, only slower; test/integration/sdk-tracing.test.ts fails on it.
 */
import { trace } from "@opentelemetry/api";
import type { IdGenerator, SpanProcessor } from "@opentelemetry/sdk-trace-base";

interface ProviderInternals {
  getDelegate?: () => {
    _activeSpanProcessor?: { _spanProcessors?: SpanProcessor[] };
    _tracerOptions?: { idGenerator?: IdGenerator };
  };
}

function provider() {
  return (trace.getTracerProvider() as ProviderInternals).getDelegate?.();
}

/** The global tracer provider's span processors, in order; undefined when its internals are not the known ones. */
export function activeSpanProcessors(): SpanProcessor[] | undefined {
  const list = provider()?._activeSpanProcessor?._spanProcessors;
  return Array.isArray(list) ? list : undefined;
}

/** Keep only `ours` (which must all be there), in their order. False, and nothing changed, if that cannot be done. */
export function keepOnlySpanProcessors(ours: SpanProcessor[]): boolean {
  const list = activeSpanProcessors();
  if (!list || !ours.every((p) => list.includes(p))) return false;
  list.splice(0, list.length, ...ours);
  return true;
}

/** Make every tracer of the global provider draw its ids from `ids`. False, and nothing changed, if that cannot be done. */
export function useIdGenerator(ids: IdGenerator): boolean {
  const shared = provider()?._tracerOptions?.idGenerator;
  if (!shared || typeof shared.generateTraceId !== "function" || typeof shared.generateSpanId !== "function") return false;
  shared.generateTraceId = () => ids.generateTraceId();
  shared.generateSpanId = () => ids.generateSpanId();
  return true;
}
