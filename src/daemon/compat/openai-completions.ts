/**
 * OpenAI legacy Completions (`/v1/completions`) ⇄ the core's raw-prompt completion. Pure translators.
 * The prompt is one string (or an array of exactly one); token-id prompts and `best_of` > 1 are refused. A `suffix`
 * makes it fill-in-the-middle: the prompt is the text before the gap.
 */
import { z } from "zod";
import type { Completion } from "openai/resources/completions";
import type { ChatEvent, ChatResult, CompletionRequest } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { fromSamplingFields, SamplingFields } from "./openai-chat.js";
import { toFinishReason, toUsage, type CompletionMeta } from "./openai-chat-response.js";
import { parseBody } from "./parse.js";

/** OpenAI's default for `/v1/completions` when `max_tokens` is not given. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

export const CompletionRequestSchema = z.strictObject({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.unknown())]),
  ...SamplingFields,
  max_tokens: z.number().int().min(1).nullish(),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  best_of: z.number().int().min(1).nullish(),
  logprobs: z.number().int().nullish(),
});

export interface TranslatedCompletion {
  request: CompletionRequest;
  stream: boolean;
  includeUsage: boolean;
  /** `echo`: the answer starts with the prompt. */
  echo: boolean;
}

/** Validate a `/v1/completions` body and translate it into the core request. */
export function fromCompletionRequest(body: unknown): TranslatedCompletion {
  const b = parseBody(CompletionRequestSchema, body);
  if (b.n != null && b.n !== 1) throw badRequest("n > 1 is not supported: mlxm generates one choice per request", "n");
  if (b.best_of != null && b.best_of !== 1) throw badRequest("best_of > 1 is not supported", "best_of");
  if (b.logprobs != null) throw badRequest("logprobs are not supported", "logprobs");
  if (b.logit_bias && Object.keys(b.logit_bias).length) throw badRequest("logit_bias is not supported", "logit_bias");
  if (!b.stream && b.stream_options != null) throw badRequest("stream_options is only allowed with stream: true", "stream_options");
  let prompt: string;
  if (typeof b.prompt === "string") prompt = b.prompt;
  else if (b.prompt.length === 1 && typeof b.prompt[0] === "string") prompt = b.prompt[0];
  else if (b.prompt.length > 1) throw badRequest("only one prompt per request is supported", "prompt");
  else throw badRequest("prompt must be a string or an array of one string (token ids are not supported)", "prompt");
  return {
    request: {
      model: b.model,
      prompt,
      // An empty suffix is none, as Ollama reads it.
      ...(b.suffix ? { suffix: b.suffix } : {}),
      sampling: fromSamplingFields(b, b.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS),
    },
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
    echo: b.echo === true,
  };
}

/** The non-streamed answer; with `echo` the text starts with the prompt. */
export function toCompletion(result: ChatResult, meta: CompletionMeta, echoPrompt?: string): Completion {
  return {
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, text: (echoPrompt ?? "") + result.text, logprobs: null, finish_reason: toFinishReason(result.finishReason) === "length" ? "length" : "stop" }],
    usage: toUsage(result.usage),
  };
}

/** Stream events → `text_completion` chunks: text pieces, a last chunk with `finish_reason`, then usage if asked. */
export async function* toCompletionChunks(
  events: AsyncIterable<ChatEvent>,
  meta: CompletionMeta,
  options: { includeUsage?: boolean; echoPrompt?: string } = {},
): AsyncGenerator<Completion> {
  // OpenAI's stream sends `finish_reason: null` and `usage: null` until the end; the SDK's Completion type has no nulls.
  const chunk = (text: string, finish: "stop" | "length" | null = null): Completion => ({
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish as "stop" | "length" }],
    ...(options.includeUsage ? { usage: null as never } : {}),
  });
  if (options.echoPrompt) yield chunk(options.echoPrompt);
  for await (const ev of events) {
    if (ev.type === "text" && ev.text) yield chunk(ev.text);
    else if (ev.type === "done") {
      yield chunk("", toFinishReason(ev.finishReason) === "length" ? "length" : "stop");
      if (options.includeUsage) {
        yield { id: meta.id, object: "text_completion", created: meta.created, model: meta.model, choices: [], usage: toUsage(ev.usage) };
      }
      return;
    }
  }
}
