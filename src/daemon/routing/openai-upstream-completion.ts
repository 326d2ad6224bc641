/**
 * A core raw completion (Ollama's `/api/generate` with `raw` or `suffix`) as an `openai` SDK `completions.create`
 * request, the legacy text API that OpenAI-compatible servers (vLLM, llama-server, SGLang, another mlxm) serve, with
 * fill-in-the-middle through `suffix`; and its chunks back as core events. Pure (no I/O); the chat counterpart is
 * openai-upstream.ts.
 */
import type { Completion, CompletionCreateParamsStreaming } from "openai/resources/completions";
import type { Provider } from "../../protocol/routes.js";
import type { ChatEvent, CompletionRequest, FinishReason, Usage } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { openAISamplingParams } from "./openai-upstream.js";
import { refuseUnsupportedSampling } from "./upstream-sampling.js";

/** Always streamed, usage included; sampling as the chat translation maps it (the legacy API takes `max_tokens`). */
export function toOpenAIUpstreamCompletion(request: CompletionRequest, upstreamModel: string, provider: Provider): CompletionCreateParamsStreaming {
  const s = request.sampling;
  refuseUnsupportedSampling(s, provider, upstreamModel);
  // The legacy API has no response format: a constrained answer would come back unconstrained.
  if (request.responseFormat) throw badRequest(`format is not supported for a raw completion by ${provider}, which serves this model (${upstreamModel})`, "format");
  const params: CompletionCreateParamsStreaming = { model: upstreamModel, prompt: request.prompt, stream: true, stream_options: { include_usage: true } };
  if (request.suffix !== undefined) params.suffix = request.suffix;
  if (s.maxTokens !== undefined) params.max_tokens = s.maxTokens;
  return Object.assign(params, openAISamplingParams(s, provider));
}

const FINISH: Record<string, FinishReason> = { stop: "stop", length: "length", content_filter: "stop" };

/** A completion stream's chunks as core events; one decoder per stream, `finish()` gives the `done` event. */
export class OpenAICompletionDecoder {
  #finishReason: FinishReason = "stop";
  #usage: Usage & { cachedInputTokens?: number } = { inputTokens: 0, outputTokens: 0 };
  #usageReported = false;

  decode(chunk: Completion): ChatEvent[] {
    if (chunk.usage) {
      this.#usageReported = true;
      this.#usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
      if (cached) this.#usage.cachedInputTokens = cached;
    }
    const choice = chunk.choices?.[0];
    if (!choice) return [];
    if (choice.finish_reason) this.#finishReason = FINISH[choice.finish_reason] ?? "stop";
    return choice.text ? [{ type: "text", text: choice.text }] : [];
  }

  finish(): Extract<ChatEvent, { type: "done" }> {
    return { type: "done", finishReason: this.#finishReason, usage: { ...this.#usage }, ...(this.#usageReported ? {} : { usageUnreported: true as const }) };
  }
}
