/**
 * What the local engine records about one generation: the GenAI request attributes its span starts with, and the
 * usage, timings and metrics set when it ends.
 */
import type { Logger } from "../../observability/logger.js";
import type { Metrics } from "../../observability/metrics.js";
import { GenAI, type Attributes, type Span } from "../../observability/spans.js";
import type { SamplingOptions } from "../core/chat.js";
import type { GenerationOutcome } from "./generation.js";

export type Operation = "chat" | "text_completion";

/** The metrics a generation updates (schema violations only where the daemon counts them). */
export type GenerationMetrics = Pick<
  Metrics,
  "timeToFirstToken" | "timePerOutputToken" | "tokens" | "cachedInputTokens" | "tokenUsage" | "requestDuration"
> &
  Partial<Pick<Metrics, "schemaViolations">>;

/** One finished generation, with times from `performance.now()`. */
export interface FinishedGeneration {
  model: string;
  outcome: GenerationOutcome;
  timings: { timeToFirstTokenMs?: number; generationMs: number };
  arrived: number;
  end: number;
}

/** Milliseconds to one decimal, as spans and `done` timings report them. */
export const round = (ms: number) => Math.round(ms * 10) / 10;

/** The span attributes of a request before it runs: operation, model and the sampling it asked for. */
export function requestAttributes(operation: Operation, model: string, s: SamplingOptions | undefined): Attributes {
  const attributes: Attributes = {
    [GenAI.OPERATION_NAME]: operation,
    [GenAI.PROVIDER_NAME]: "mlxm",
    [GenAI.REQUEST_MODEL]: model,
  };
  if (!s) return attributes;
  const optional: [string, number | string[] | undefined][] = [
    [GenAI.REQUEST_MAX_TOKENS, s.maxTokens],
    [GenAI.REQUEST_TEMPERATURE, s.temperature],
    [GenAI.REQUEST_TOP_P, s.topP],
    ["gen_ai.request.top_k", s.topK],
    [GenAI.REQUEST_SEED, s.seed],
    ["gen_ai.request.frequency_penalty", s.frequencyPenalty],
    ["gen_ai.request.presence_penalty", s.presencePenalty],
    ["gen_ai.request.stop_sequences", s.stop],
  ];
  for (const [key, value] of optional) if (value !== undefined) attributes[key] = value;
  return attributes;
}

/** Usage and timings on the span, token and latency metrics, and a loud log if the output broke its schema. */
export function recordGeneration(
  span: Span,
  { model, outcome, timings, arrived, end }: FinishedGeneration,
  { metrics, logger }: { metrics?: GenerationMetrics; logger: Logger },
): void {
  const { inputTokens, outputTokens, cachedInputTokens = 0 } = outcome.usage;
  span.setAttributes({
    [GenAI.RESPONSE_MODEL]: model,
    [GenAI.USAGE_INPUT_TOKENS]: inputTokens,
    [GenAI.USAGE_CACHE_READ_INPUT_TOKENS]: cachedInputTokens,
    [GenAI.USAGE_OUTPUT_TOKENS]: outputTokens,
    [GenAI.RESPONSE_FINISH_REASONS]: [outcome.finishReason],
    ...(timings.timeToFirstTokenMs !== undefined ? { [GenAI.TIME_TO_FIRST_TOKEN_MS]: timings.timeToFirstTokenMs } : {}),
    ...(outcome.schemaValid !== undefined ? { "mlxm.response.schema_valid": outcome.schemaValid } : {}),
    ...(outcome.grammar ? { "mlxm.grammar.compile_ms": round(outcome.grammar.compileMs), "mlxm.grammar.cached": outcome.grammar.cached } : {}),
  });
  metrics?.tokens.inc({ model, type: "input" }, inputTokens);
  metrics?.tokens.inc({ model, type: "output" }, outputTokens);
  metrics?.cachedInputTokens.inc({ model }, cachedInputTokens);
  metrics?.tokenUsage.observe({ model, type: "input" }, inputTokens);
  metrics?.tokenUsage.observe({ model, type: "output" }, outputTokens);
  metrics?.requestDuration.observe({ model }, (end - arrived) / 1000);
  if (outcome.firstTokenAt !== undefined && timings.timeToFirstTokenMs !== undefined) {
    metrics?.timeToFirstToken.observe({ model }, timings.timeToFirstTokenMs / 1000);
    const decodeMs = end - outcome.firstTokenAt;
    if (outputTokens > 1) {
      metrics?.timePerOutputToken.observe({ model }, decodeMs / (outputTokens - 1) / 1000);
      span.setAttribute("mlxm.tokens_per_second", round(((outputTokens - 1) * 1000) / Math.max(decodeMs, 0.001)));
    }
  }
  if (outcome.schemaValid === false && outcome.schemaUnconstrained) {
    logger.warn(
      { model, error: outcome.schemaError },
      "a tool call the model made on its own does not match its tool's schema (auto calls are held to its structure only)",
    );
  } else if (outcome.schemaValid === false) {
    // The grammar admits only valid JSON, so this is a compiler bug, never the model's fault.
    metrics?.schemaViolations?.inc({ model });
    logger.error(
      { model, finishReason: outcome.finishReason, error: outcome.schemaError },
      "bug: generated JSON does not match the requested schema",
    );
  }
}
