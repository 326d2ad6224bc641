/**
 * Raw-prompt completion on one context sequence (LlamaCompletion): OpenAI `/v1/completions`, Ollama `/api/generate`
 * with `raw`, and fill-in-the-middle (either, with `suffix`). The request is checked and translated first
 * (`prepareCompletion`, pure), its prompt tokenized once the model is loaded, then run as generation.ts runs a chat.
 */
import { LlamaCompletion, type Token } from "node-llama-cpp";
import type { CompletionRequest } from "../core/chat.js";
import { badRequest, UnsupportedInputError } from "../errors.js";
import type { SchemaGrammars } from "./grammar/schema-grammars.js";
import type { LoadedLlamaModel } from "./llama-model.js";
import { forContextSize, toFinishReason, toLlamaSampling, type LlamaSampling } from "./sampling.js";
import { infillPrompt } from "./infill-prompt.js";
import { AnswerText } from "./stop-strings.js";
import {
  generationBudget,
  grammarFor,
  parseAndCheck,
  schemaOutcome,
  toFormat,
  usageOf,
  type Format,
  type GenerationOutcome,
  type GenerationTarget,
} from "./generation.js";

export interface PreparedCompletion {
  /** The model as the caller named it, for errors about what it cannot do. */
  model: string;
  prompt: string;
  /** Fill-in-the-middle: the text after the gap (see infill-prompt.ts). */
  suffix?: string;
  sampling: LlamaSampling;
  maxTokens?: number;
  format: Format;
}

export function prepareCompletion(request: CompletionRequest, grammars: SchemaGrammars): PreparedCompletion {
  if (typeof request.prompt !== "string") throw badRequest("prompt must be a string", "prompt");
  if (request.suffix !== undefined && typeof request.suffix !== "string") throw badRequest("suffix must be a string", "suffix");
  return {
    model: request.model,
    prompt: request.prompt,
    ...(request.suffix ? { suffix: request.suffix } : {}),
    sampling: toLlamaSampling(request.sampling ?? {}),
    ...(request.sampling?.maxTokens !== undefined ? { maxTokens: request.sampling.maxTokens } : {}),
    format: toFormat(request.responseFormat, grammars),
  };
}

/**
 * The tokens of a raw completion prompt, or of a fill-in-the-middle one (infill-prompt.ts), BOS first where the model
 * wants one; an empty prompt is a 400, and so is a suffix for a model without infill tokens (in Ollama's words).
 */
export function completionPrompt(loaded: LoadedLlamaModel, prepared: PreparedCompletion): Token[] {
  const model = loaded.model;
  const tokens = prepared.suffix === undefined ? model.tokenize(prepared.prompt, false) : infillPrompt(model, prepared.prompt, prepared.suffix);
  if (!tokens) throw new UnsupportedInputError(`${prepared.model} does not support insert: its vocabulary has no fill-in-the-middle tokens`, "suffix");
  const bos = model.tokens.bos;
  if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens.unshift(bos);
  if (tokens.length === 0) throw badRequest("the prompt is empty", "prompt");
  return tokens;
}

export async function runCompletion(target: GenerationTarget, prepared: PreparedCompletion): Promise<GenerationOutcome> {
  const { loaded, sequence, emit } = target;
  const { stop, ...sampling } = forContextSize(prepared.sampling, loaded.contextSize);
  const answer = new AnswerText(stop, target.signal);
  const { signal } = answer;
  const constraint = prepared.format.kind === "schema" ? prepared.format.schema : undefined;
  const grammar = await grammarFor(target, constraint ?? prepared.format);
  // A copy: LlamaCompletion splices the array it is given. Without the BOS, which it puts first itself (under the
  // rule completionPrompt follows): handed one, it evaluated two.
  const bos = loaded.model.tokens.bos;
  const tokens = target.prompt[0] === bos && loaded.model.tokens.shouldPrependBosToken ? target.prompt.slice(1) : [...target.prompt];
  const inputTokens = target.prompt.length;
  const maxTokens = generationBudget(inputTokens, loaded.contextSize, prepared.maxTokens, "prompt");

  const completion = new LlamaCompletion({ contextSequence: sequence });
  const meter = sequence.tokenMeter.getState();
  let firstTokenAt: number | undefined;
  target.begin();
  emit({ type: "start", inputTokens, ...(target.cachedTokens ? { cachedInputTokens: target.cachedTokens } : {}) });
  let stopReason: string;
  try {
    const response = await completion.generateCompletionWithMeta(tokens, {
      ...sampling,
      maxTokens,
      // The whole prompt fits with maxTokens after it (generationBudget): no context shift can come. Left at its
      // default, node-llama-cpp keeps a tenth of the context free for one by cutting the prompt's start, which
      // silently dropped text and, for fill-in-the-middle, the FIM_PRE marker.
      contextShiftSize: 1,
      signal,
      stopOnAbortSignal: true,
      ...(grammar ? { grammar } : {}),
      onToken: () => (firstTokenAt ??= performance.now()),
      onTextChunk: (text) => {
        const out = answer.push(text);
        if (out) emit({ type: "text", text: out });
      },
    });
    stopReason = response.metadata.stopReason;
  } catch (err) {
    if (!signal.aborted) throw err;
    stopReason = "abort";
  } finally {
    completion.dispose();
  }
  stopReason = answer.finish(stopReason, emit);
  const stopSequence = answer.matched;
  const responseText = answer.text;
  const finishReason = toFinishReason(stopReason);
  const check = constraint && finishReason === "stop" ? parseAndCheck(responseText, constraint.check) : undefined;
  return {
    finishReason,
    usage: usageOf(target, sequence.tokenMeter.diff(meter).usedOutputTokens),
    ...(stopSequence !== undefined && finishReason === "stop" ? { stopSequence } : {}),
    ...(firstTokenAt !== undefined ? { firstTokenAt } : {}),
    ...schemaOutcome(check, constraint),
  };
}
