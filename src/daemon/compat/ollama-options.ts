/**
 * Pieces every Ollama-shaped request shares: `options` → core sampling, `keep_alive` → milliseconds, `format` →
 * response format, and the metrics (nanoseconds) on the last line of a generation. Pure.
 */
import type { z } from "zod";
import { ConfigError, parseDuration } from "../../config/parse.js";
import type { Format, Options } from "../../protocol/chat.js";
import type { GenerationTimings, ResponseFormat, SamplingOptions, Usage, ReasoningOptions } from "../core/chat.js";
import { badRequest } from "../errors.js";

/** Ollama `options` in the core's vocabulary. `num_predict` -1 or -2 (and Ollama's unset 0) mean no limit. */
export function fromOllamaOptions(options: z.output<typeof Options> | null | undefined): SamplingOptions {
  const s: SamplingOptions = {};
  if (!options) return s;
  if (options.temperature != null) s.temperature = options.temperature;
  if (options.top_p != null) s.topP = options.top_p;
  if (options.top_k != null) s.topK = options.top_k;
  if (options.min_p != null) s.minP = options.min_p;
  if (options.seed != null) s.seed = options.seed;
  if (options.num_predict != null && options.num_predict > 0) s.maxTokens = options.num_predict;
  if (options.repeat_penalty != null) s.repeatPenalty = options.repeat_penalty;
  if (options.repeat_last_n != null) s.repeatLastN = options.repeat_last_n;
  if (options.frequency_penalty != null) s.frequencyPenalty = options.frequency_penalty;
  if (options.presence_penalty != null) s.presencePenalty = options.presence_penalty;
  if (options.stop != null) {
    const stop = (typeof options.stop === "string" ? [options.stop] : options.stop).filter((x) => x.length > 0);
    if (stop.length) s.stop = stop;
  }
  return s;
}

/** `keep_alive` in ms (-1 forever, 0 unload after the request); undefined uses the daemon's default. */
export function fromKeepAlive(value: string | number | null | undefined): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  try {
    return parseDuration("keep_alive", value);
  } catch (err) {
    if (err instanceof ConfigError) throw badRequest(err.message, "keep_alive");
    throw err;
  }
}

/** `"json"` → JSON mode, a schema object → structured output, `""`/absent → free text. */
export function fromOllamaFormat(format: z.output<typeof Format> | null | undefined): ResponseFormat | undefined {
  if (format === undefined || format === null || format === "") return undefined;
  if (format === "json") return { type: "json_object" };
  return { type: "json_schema", schema: format, param: "format" };
}

/**
 * Ollama's `think`: true (or a level, "low"/"medium"/"high") turns reasoning on, false off; absent keeps the
 * model's default. A model whose template has no reasoning section answers `think: true` with a 400, as Ollama does.
 */
export function fromThink(think: boolean | string | null | undefined): ReasoningOptions | undefined {
  if (think === undefined || think === null) return undefined;
  if (typeof think === "string" && !["low", "medium", "high"].includes(think)) throw badRequest(`invalid think value "${think}"`, "think");
  return { enabled: think !== false, param: "think", ...(typeof think === "string" ? { effort: think as "low" | "medium" | "high" } : {}) };
}

export interface OllamaMetrics {
  total_duration: number;
  load_duration: number;
  /** All prompt tokens, cached or evaluated (Ollama: `*CacheN + PromptN`). */
  prompt_eval_count: number;
  /** Prompt tokens read from the cache (Ollama's `prompt_eval_cached_count`, omitted when the backend does not say). */
  prompt_eval_cached_count?: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

const ns = (ms: number) => Math.max(0, Math.round(ms * 1e6));

/**
 * Ollama's metrics from the core's usage and timings. Prompt evaluation is the time to the first token less queueing
 * and loading; evaluation is the rest of the generation.
 */
export function toOllamaMetrics(usage: Usage, timings: GenerationTimings | undefined, totalMs: number): OllamaMetrics {
  const loadMs = timings?.loadMs ?? 0;
  const promptMs = timings?.timeToFirstTokenMs !== undefined ? Math.max(0, timings.timeToFirstTokenMs - timings.queueMs - loadMs) : 0;
  const evalMs = timings ? Math.max(0, timings.generationMs - promptMs) : 0;
  return {
    total_duration: ns(totalMs),
    load_duration: ns(loadMs),
    prompt_eval_count: usage.inputTokens,
    ...(usage.cachedInputTokens !== undefined ? { prompt_eval_cached_count: usage.cachedInputTokens } : {}),
    prompt_eval_duration: ns(promptMs),
    eval_count: usage.outputTokens,
    eval_duration: ns(evalMs),
  };
}

/** Ollama's done_reason: "stop" (also for tool calls) or "length". */
export const toDoneReason = (reason: string): "stop" | "length" => (reason === "length" ? "length" : "stop");

/** A clock for translators that stamp `created_at` and measure `total_duration`; injectable for tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
