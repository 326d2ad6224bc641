/**
 * Upstream backends built on the official SDKs: `openai` for OpenAI, OpenAI-compatible servers and other mlxm
 * daemons, `@anthropic-ai/sdk` for Anthropic. Each consumes the internal chat model and yields core events, so every
 * protocol reaches every upstream. Clients (and their retries) come from `upstream-clients.ts`.
 */
import type Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import { AnthropicEventDecoder, toAnthropicUpstreamRequest } from "./anthropic-upstream.js";
import { onwardVia } from "./loop-guard.js";
import { OpenAIChunkDecoder, toOpenAIUpstreamRequest } from "./openai-upstream.js";
import { OpenAICompletionDecoder, toOpenAIUpstreamCompletion } from "./openai-upstream-completion.js";
import { anthropicClient, openAIClient, type UpstreamClientOptions } from "./upstream-clients.js";
import { isAbortError, noEvents, toUpstreamError } from "./upstream-errors.js";

export interface UpstreamOptions extends UpstreamClientOptions {
  /** The model name sent upstream. */
  model: string;
  label: string;
}

/** One upstream call site, created per request; its SDK client is shared (see `upstream-clients.ts`). */
export interface Upstream {
  readonly label: string;
  chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent>;
  /** A raw or fill-in-the-middle completion, where the upstream has a text completions API (OpenAI's legacy one). */
  complete?(request: CompletionRequest, signal: AbortSignal): AsyncGenerator<ChatEvent>;
  embed?(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult>;
}

export function createUpstream(options: UpstreamOptions): Upstream {
  return options.route.provider === "anthropic" ? new AnthropicUpstream(options) : new OpenAIUpstream(options);
}

class OpenAIUpstream implements Upstream {
  readonly label: string;
  readonly #client: Promise<OpenAI>;

  constructor(private readonly options: UpstreamOptions) {
    this.label = options.label;
    this.#client = openAIClient(options);
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const { label, apiKey, model } = this.options;
    // Translated here, not when the stream opens: what the upstream cannot take is the caller's 400, not its failure.
    const params = toOpenAIUpstreamRequest(request, model, this.options.route.provider);
    const headers = onwardVia();
    const open = retriedWithoutReasoning(request, params, async (p) => (await this.#client).chat.completions.create(p, { signal, headers }), () =>
      toOpenAIUpstreamRequest({ ...request, reasoning: undefined }, model, this.options.route.provider),
    );
    return relayUpstream(open, new OpenAIChunkDecoder(), signal, label, apiKey);
  }

  complete(request: CompletionRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const { label, apiKey, model } = this.options;
    // Translated here, as a chat is: what the upstream cannot take is the caller's 400, not its failure.
    const params = toOpenAIUpstreamCompletion(request, model, this.options.route.provider);
    const headers = onwardVia();
    return relayUpstream(async () => (await this.#client).completions.create(params, { signal, headers }), new OpenAICompletionDecoder(), signal, label, apiKey);
  }

  async embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    try {
      const { inputs: input, dimensions } = request;
      const params = { model: this.options.model, input, encoding_format: "float" as const, ...(dimensions !== undefined ? { dimensions } : {}) };
      const res = await (await this.#client).embeddings.create(params, { signal, headers: onwardVia() });
      return {
        model: request.model,
        embeddings: res.data.sort((a, b) => a.index - b.index).map((d) => d.embedding),
        usage: { inputTokens: res.usage?.prompt_tokens ?? 0 },
      };
    } catch (err) {
      throw toUpstreamError(err, this.options.label, this.options.apiKey);
    }
  }
}

class AnthropicUpstream implements Upstream {
  readonly label: string;
  readonly #client: Promise<Anthropic>;

  constructor(private readonly options: UpstreamOptions) {
    this.label = options.label;
    this.#client = anthropicClient(options);
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const { label, apiKey, model } = this.options;
    // Translated here, not when the stream opens: what the upstream cannot take is the caller's 400, not its failure.
    const params = toAnthropicUpstreamRequest(request, model);
    const headers = onwardVia();
    const open = retriedWithoutReasoning(request, params, async (p) => (await this.#client).messages.create(p, { signal, headers }), () =>
      toAnthropicUpstreamRequest({ ...request, reasoning: undefined }, model),
    );
    return relayUpstream(open, new AnthropicEventDecoder(), signal, label, apiKey);
  }
}

/**
 * Opens the stream with `params`; when the request carried a reasoning setting and the upstream refuses it (a model
 * that does not reason answers OpenAI's `reasoning_effort` with a 400, a Claude model that wants adaptive thinking
 * answers a budget with one), opens it once more without. Clients such as Codex and Claude Code send reasoning on
 * every request, whatever the model behind a name can do; LiteLLM drops the field for such models the same way.
 */
function retriedWithoutReasoning<P, S>(request: ChatRequest, params: P, create: (params: P) => Promise<S>, without: () => P): () => Promise<S> {
  return async () => {
    try {
      return await create(params);
    } catch (err) {
      if (!request.reasoning || !refusesReasoning(err)) throw err;
      return create(without());
    }
  };
}

/** A 400 about the reasoning setting, as OpenAI ("reasoning_effort", "reasoning effort") and Anthropic ("thinking") word it. */
function refusesReasoning(err: unknown): boolean {
  if (!(err instanceof Error) || (err as { status?: unknown }).status !== 400) return false;
  const param = (err as { param?: unknown }).param;
  return (typeof param === "string" && /reasoning|thinking/i.test(param)) || /reasoning[ _.]effort|thinking/i.test(err.message);
}

/** What turns one upstream's stream events into core chat events; `finish()` gives the `done` event. */
interface UpstreamDecoder<E> {
  decode(event: E): ChatEvent[];
  finish(): Extract<ChatEvent, { type: "done" }>;
}

/**
 * One upstream stream as core events: open it, decode every event, end with `done`. Errors become upstream errors
 * without the key; a stream aborted by our own signal (the client went away) ends as "cancelled".
 */
async function* relayUpstream<E>(
  open: () => Promise<AsyncIterable<E>>,
  decoder: UpstreamDecoder<E>,
  signal: AbortSignal,
  label: string,
  apiKey: string | undefined,
): AsyncGenerator<ChatEvent> {
  let stream: AsyncIterable<E>;
  try {
    stream = await open();
  } catch (err) {
    throw toUpstreamError(err, label, apiKey);
  }
  let events = 0;
  try {
    // A plain loop, not `yield*` over the array: delegating to a sync iterable costs extra awaits per event.
    for await (const event of stream) {
      events++;
      for (const ev of decoder.decode(event)) yield ev;
    }
  } catch (err) {
    if (signal.aborted && isAbortError(err)) {
      yield { ...decoder.finish(), finishReason: "cancelled" };
      return;
    }
    throw toUpstreamError(err, label, apiKey);
  }
  // An answer with no events at all (not SSE, or an empty body) is no answer: before anything reached the caller,
  // so another backend may still serve it.
  if (events === 0 && !signal.aborted) throw noEvents(label);
  yield decoder.finish();
}
