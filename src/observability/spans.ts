/**
 * The one small helper every capability uses for its spans (model load, generation, pulls, routing), on top of
 * the OpenTelemetry API only: without a configured SDK (tests, the CLI) it costs nothing.
 * GenAI attribute names follow the OpenTelemetry GenAI semantic conventions.
 */
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";

export const tracer = () => trace.getTracer("mlxm");

export const GenAI = {
  OPERATION_NAME: "gen_ai.operation.name",
  PROVIDER_NAME: "gen_ai.provider.name",
  REQUEST_MODEL: "gen_ai.request.model",
  RESPONSE_MODEL: "gen_ai.response.model",
  REQUEST_MAX_TOKENS: "gen_ai.request.max_tokens",
  REQUEST_TEMPERATURE: "gen_ai.request.temperature",
  REQUEST_TOP_P: "gen_ai.request.top_p",
  REQUEST_SEED: "gen_ai.request.seed",
  REQUEST_STREAM: "gen_ai.request.stream",
  USAGE_INPUT_TOKENS: "gen_ai.usage.input_tokens",
  USAGE_OUTPUT_TOKENS: "gen_ai.usage.output_tokens",
  /** Input tokens read from a cache (the local engine's prompt-prefix reuse); part of `gen_ai.usage.input_tokens`. */
  USAGE_CACHE_READ_INPUT_TOKENS: "gen_ai.usage.cache_read.input_tokens",
  /** Input tokens written to a provider's prompt cache (Anthropic's cache_creation_input_tokens); part of input too. */
  USAGE_CACHE_CREATION_INPUT_TOKENS: "gen_ai.usage.cache_creation.input_tokens",
  RESPONSE_FINISH_REASONS: "gen_ai.response.finish_reasons",
  /** Not (yet) a semantic-convention attribute; the metric of that name is `gen_ai.server.time_to_first_token`. */
  TIME_TO_FIRST_TOKEN_MS: "gen_ai.server.time_to_first_token_ms",
  INPUT_MESSAGES: "gen_ai.input.messages",
  OUTPUT_MESSAGES: "gen_ai.output.messages",
} as const;

export interface SpanOptions {
  attributes?: Attributes;
  kind?: SpanKind;
  /** Parent context; default the active one. */
  parent?: Context;
}

/**
 * Run `fn` inside a new active span. The span ends when `fn` settles; an exception marks it as an error and
 * is rethrown. Typed errors with a `code` get it as `error.type`.
 */
export async function withSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer().startSpan(name, { attributes: options.attributes, kind: options.kind }, options.parent ?? context.active());
  try {
    return await context.with(trace.setSpan(options.parent ?? context.active(), span), () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Mark a span as failed with the error's message and type. An error marked `declined` (a local model handed images,
 * which a route of its name then serves) is no failure of the span: it gets a `declined` event instead, so a request
 * another backend served does not read as failed in its trace.
 */
export function recordError(span: Span, err: unknown): void {
  const e = err as { message?: string; code?: unknown; name?: string; declined?: unknown };
  if (e?.declined === true) {
    span.addEvent("declined", { reason: e.message ?? String(err) });
    return;
  }
  span.recordException(err instanceof Error ? err : String(err));
  span.setAttribute("error.type", typeof e?.code === "string" ? e.code : (e?.name ?? "Error"));
  span.setStatus({ code: SpanStatusCode.ERROR, message: e?.message ?? String(err) });
}

export { SpanKind, SpanStatusCode };
export type { Span, Attributes };
