/**
 * Presets: a named model's default system prompt and sampling parameters (`mlxm create`, Ollama's `/api/create`),
 * applied under each request so that what the request says still wins. Pure.
 */
import { ModelPreset, type PresetParameters } from "../../protocol/library.js";
import { fromOllamaOptions } from "../compat/ollama-options.js";
import type { ChatRequest, CompletionRequest, SamplingOptions } from "./chat.js";

export type { ModelPreset };

/** The preset stored in a model row (`preset_json`), or undefined for none (or an unreadable one). */
export function parsePreset(json: string | null | undefined): ModelPreset | undefined {
  if (!json) return undefined;
  try {
    const parsed = ModelPreset.safeParse(clampPenalties(JSON.parse(json)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Presets made before penalties were bounded as requests bound them (-2..2) may hold larger ones: read them at the
 * nearest value a request accepts, so the preset keeps its other settings and never makes a request a 400.
 */
function clampPenalties(stored: unknown): unknown {
  const parameters = (stored as { parameters?: Record<string, unknown> } | null)?.parameters;
  if (!parameters || typeof parameters !== "object") return stored;
  const clamped = { ...parameters };
  for (const key of ["frequency_penalty", "presence_penalty"]) {
    const v = clamped[key];
    if (typeof v === "number") clamped[key] = Math.min(2, Math.max(-2, v));
  }
  return { ...(stored as object), parameters: clamped };
}

/** True when the preset sets nothing (a plain alias). */
export function isEmptyPreset(preset: ModelPreset | undefined): boolean {
  return !preset || (preset.system === undefined && Object.keys(preset.parameters).length === 0);
}

/** The preset's sampling defaults in the core's vocabulary. */
export function presetSampling(parameters: PresetParameters): SamplingOptions {
  return fromOllamaOptions(parameters);
}

/** The request's sampling over the preset's: a value the request sets (even to 0) wins. */
export function mergeSampling(defaults: SamplingOptions, request: SamplingOptions | undefined): SamplingOptions {
  const merged: SamplingOptions = { ...defaults };
  for (const [key, value] of Object.entries(request ?? {}) as [keyof SamplingOptions, unknown][]) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/**
 * A chat request with the preset under it: its sampling defaults, and its system prompt first unless the request
 * brings its own system message (as Ollama does, the caller's system prompt replaces the model's).
 */
export function applyPresetToChat(request: ChatRequest, preset: ModelPreset | undefined): ChatRequest {
  if (isEmptyPreset(preset)) return request;
  const p = preset!;
  const messages = Array.isArray(request.messages) ? request.messages : [];
  const hasSystem = messages.some((m) => m?.role === "system");
  return {
    ...request,
    messages: p.system !== undefined && !hasSystem ? [{ role: "system", content: p.system }, ...messages] : request.messages,
    sampling: mergeSampling(presetSampling(p.parameters), request.sampling),
  };
}

/** A raw completion with the preset's sampling defaults (a raw prompt gets no system prompt). */
export function applyPresetToCompletion(request: CompletionRequest, preset: ModelPreset | undefined): CompletionRequest {
  if (isEmptyPreset(preset)) return request;
  return { ...request, sampling: mergeSampling(presetSampling(preset!.parameters), request.sampling) };
}
