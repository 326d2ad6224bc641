/**
 * Sampling options a translated request carries that the upstream's API has no field for. Dropping one would hand
 * the caller an answer sampled otherwise than it asked, so, as LiteLLM does by default (UnsupportedParamsError), a
 * value that would change the sampling is refused with a 400 naming the parameter and the provider, before any
 * upstream call. The value that changes nothing (a penalty of 0, `min_p` 0) passes silently: popular clients send it
 * whether or not it was asked for. OpenAI-compatible servers (vLLM, llama-server, SGLang) and other mlxm daemons take
 * `top_k`, `min_p`, `repeat_penalty` and `repeat_last_n` as extra body fields, so nothing is refused for them. Pure.
 */
import type { Provider } from "../../protocol/routes.js";
import type { SamplingOptions } from "../core/chat.js";
import { badRequest } from "../errors.js";

interface Unsupported {
  key: keyof SamplingOptions;
  /** The name callers use: OpenAI's, Anthropic's and Ollama's options agree on these. */
  param: string;
  /** The value that asks for nothing; none for a seed, which always asks for repeatable sampling. */
  noop?: number;
}

const PENALTIES: Unsupported[] = [
  { key: "minP", param: "min_p", noop: 0 },
  { key: "repeatPenalty", param: "repeat_penalty", noop: 1 },
];

const UNSUPPORTED: Record<Provider, Unsupported[]> = {
  // The Messages API samples with temperature, top_p and top_k only.
  anthropic: [
    { key: "seed", param: "seed" },
    { key: "frequencyPenalty", param: "frequency_penalty", noop: 0 },
    { key: "presencePenalty", param: "presence_penalty", noop: 0 },
    ...PENALTIES,
  ],
  // OpenAI's own API refuses fields it does not define.
  openai: [{ key: "topK", param: "top_k", noop: 0 }, ...PENALTIES],
  "openai-compatible": [],
  mlxm: [],
};

/** Throws a 400 for the first option `provider` cannot honour; `upstreamModel` is the model the route asks it for. */
export function refuseUnsupportedSampling(sampling: SamplingOptions, provider: Provider, upstreamModel: string): void {
  for (const { key, param, noop } of UNSUPPORTED[provider]) {
    const value = sampling[key];
    if (value === undefined || value === noop) continue;
    const instead = noop === undefined ? "leave it out" : `leave it out or set it to ${noop}`;
    throw badRequest(`${param} is not supported by ${provider}, which serves this model (${upstreamModel}): ${instead}`, param);
  }
  // `repeat_last_n` (the penalties' look-back window) changes the sampling only through a penalty; OpenAI and Anthropic
  // have no window (OpenAI's penalties count the whole text), so it is refused only when a penalty is in effect.
  if (WINDOWLESS.has(provider) && sampling.repeatLastN !== undefined && penalized(sampling)) {
    throw badRequest(
      `repeat_last_n is not supported by ${provider}, which serves this model (${upstreamModel}): leave it out, or leave out the penalties`,
      "repeat_last_n",
    );
  }
}

const WINDOWLESS = new Set<Provider>(["openai", "anthropic"]);

const penalized = (s: SamplingOptions) =>
  (s.frequencyPenalty ?? 0) !== 0 || (s.presencePenalty ?? 0) !== 0 || (s.repeatPenalty ?? 1) !== 1;
