/**
 * From the internal SamplingOptions to node-llama-cpp's generation options, and its stop reasons back to finish
 * reasons. Pure.
 */
import type { LLamaContextualRepeatPenalty } from "node-llama-cpp";
import type { FinishReason, SamplingOptions } from "../core/chat.js";
import { badRequest } from "../errors.js";

/** What an omitted option means: Ollama's defaults, since callers of a local model manager expect them. */
export const DEFAULT_SAMPLING = { temperature: 0.8, topK: 40, topP: 0.9 } as const;

/** The sampling part of LlamaChat/LlamaCompletion generation options. */
export interface LlamaSampling {
  temperature: number;
  topK: number;
  topP: number;
  minP?: number;
  seed?: number;
  repeatPenalty: false | LLamaContextualRepeatPenalty;
  /** The request's stop strings: matched by generation.ts ({@link StopStrings}), not handed to node-llama-cpp. */
  stop?: string[];
}

/** Maps and checks sampling options; a bad value is a 400 naming the OpenAI-style parameter. */
export function toLlamaSampling(s: SamplingOptions): LlamaSampling {
  check(s.temperature, "temperature", (v) => v >= 0);
  check(s.topP, "top_p", (v) => v >= 0 && v <= 1);
  check(s.topK, "top_k", (v) => Number.isInteger(v) && v >= 0);
  check(s.minP, "min_p", (v) => v >= 0 && v <= 1);
  check(s.maxTokens, "max_tokens", (v) => Number.isInteger(v) && v >= 1);
  check(s.seed, "seed", (v) => Number.isInteger(v));
  check(s.repeatPenalty, "repeat_penalty", (v) => v >= 0);
  check(s.frequencyPenalty, "frequency_penalty", (v) => v >= -2 && v <= 2);
  check(s.presencePenalty, "presence_penalty", (v) => v >= -2 && v <= 2);
  check(s.repeatLastN, "repeat_last_n", (v) => Number.isInteger(v) && v >= -1);
  if (s.stop !== undefined && (!Array.isArray(s.stop) || s.stop.some((x) => typeof x !== "string"))) {
    throw badRequest("stop must be a list of strings", "stop");
  }
  // A window of 0 turns the penalties off, as in llama.cpp.
  const penalized = s.repeatLastN !== 0 && (s.repeatPenalty !== undefined || s.frequencyPenalty !== undefined || s.presencePenalty !== undefined);
  const stop = s.stop?.filter((x) => x !== "");
  return {
    temperature: s.temperature ?? DEFAULT_SAMPLING.temperature,
    topK: s.topK ?? DEFAULT_SAMPLING.topK,
    topP: s.topP ?? DEFAULT_SAMPLING.topP,
    ...(s.minP !== undefined ? { minP: s.minP } : {}),
    // llama.cpp takes a uint32 seed.
    ...(s.seed !== undefined ? { seed: s.seed >>> 0 } : {}),
    repeatPenalty: penalized
      ? {
          penalty: s.repeatPenalty ?? 1,
          frequencyPenalty: s.frequencyPenalty,
          presencePenalty: s.presencePenalty,
          ...(s.repeatLastN !== undefined ? { lastTokens: s.repeatLastN } : {}),
        }
      : false,
    ...(stop?.length ? { stop } : {}),
  };
}

/**
 * `sampling` for a context of `contextSize` tokens: a penalty window of -1 (Ollama's "the whole context") becomes the
 * context size, since node-llama-cpp takes a count (and hands it to llama.cpp as an unsigned one).
 */
export function forContextSize<S extends Pick<LlamaSampling, "repeatPenalty">>(sampling: S, contextSize: number): S {
  const penalty = sampling.repeatPenalty;
  if (penalty === false || penalty.lastTokens !== -1) return sampling;
  return { ...sampling, repeatPenalty: { ...penalty, lastTokens: contextSize } };
}

/** node-llama-cpp's stop reason as a finish reason. */
export function toFinishReason(stopReason: string): FinishReason {
  switch (stopReason) {
    case "maxTokens":
      return "length";
    case "functionCalls":
      return "tool_calls";
    case "abort":
      return "cancelled";
    default:
      // eogToken, stopGenerationTrigger (the chat template's end of turn, a grammar's end), customStopTrigger
      return "stop";
  }
}

function check(value: number | undefined, param: string, ok: (v: number) => boolean): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || !ok(value)) {
    throw badRequest(`invalid ${param}: ${String(value)}`, param);
  }
}
