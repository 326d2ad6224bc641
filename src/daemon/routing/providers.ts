/**
 * Upstream backends built on the official SDKs: `openai` for OpenAI, OpenAI-compatible servers and other mlxm
 * daemons, `@anthropic-ai/sdk` for Anthropic. Each consumes the internal chat model and yields core events, so every
 * protocol reaches every upstream. The SDKs retry 408/409/429/5xx and connection errors themselves, with backoff that
 * honours `retry-after`, before an error reaches the router; `maxRetries` bounds that.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { ChatEvent, ChatRequest, EmbeddingRequest, EmbeddingResult } from "../core/chat.js";
import { AnthropicEventDecoder, toAnthropicUpstreamRequest } from "./anthropic-upstream.js";
import { OpenAIChunkDecoder, toOpenAIUpstreamRequest } from "./openai-upstream.js";
import type { Route } from "./route.js";
import { isAbortError, toUpstreamError } from "./upstream-errors.js";

export interface UpstreamOptions {
  route: Route;
  /** The model name sent upstream. */
  model: string;
  label: string;
  apiKey: string | undefined;
  /** Base URL when the route has none (OPENAI_BASE_URL / ANTHROPIC_BASE_URL). */
  defaultBaseUrl: string | undefined;
  maxRetries: number;
}

/** One upstream call site, created per request; its SDK client is shared (see `sharedClient`). */
export interface Upstream {
  readonly label: string;
  chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent>;
  embed?(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

export function createUpstream(options: UpstreamOptions): Upstream {
  return options.route.provider === "anthropic" ? new AnthropicUpstream(options) : new OpenAIUpstream(options);
}

/**
 * SDK clients, one per distinct configuration. Building one per request cost a visible share of the TTFT mlxm adds
 * (option parsing, header setup, a fresh fetch wrapper); a key, base URL, timeout or retry change makes a new entry.
 * Bounded, since keys read from the environment at request time may rotate.
 */
const clients = new Map<string, OpenAI | Anthropic>();
const MAX_CLIENTS = 64;

function sharedClient<C extends OpenAI | Anthropic>(
  kind: "openai" | "anthropic",
  config: { apiKey: string | null; baseURL: string | undefined; timeout: number; maxRetries: number },
  create: () => C,
): C {
  const key = JSON.stringify([kind, config.baseURL ?? null, config.apiKey, config.timeout, config.maxRetries]);
  let client = clients.get(key);
  if (!client) {
    if (clients.size >= MAX_CLIENTS) clients.clear();
    clients.set(key, (client = create()));
  }
  return client as C;
}

/** An mlxm daemon serves OpenAI's API under `/v1`; accept its root address too. */
function openAIBaseUrl(options: UpstreamOptions): string | undefined {
  const base = options.route.baseUrl ?? options.defaultBaseUrl;
  if (!base || options.route.provider !== "mlxm") return base;
  return /\/v1\/?$/.test(base) ? base : `${base.replace(/\/+$/, "")}/v1`;
}

class OpenAIUpstream implements Upstream {
  readonly label: string;
  readonly #client: OpenAI;

  constructor(private readonly options: UpstreamOptions) {
    this.label = options.label;
    const config = {
      // OpenAI-compatible servers often need no key, but the SDK insists on one.
      apiKey: options.apiKey ?? "none",
      baseURL: openAIBaseUrl(options),
      timeout: options.route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxRetries: options.maxRetries,
    };
    this.#client = sharedClient("openai", config, () => new OpenAI(config));
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const { label, apiKey, model } = this.options;
    return relayUpstream(() => this.#client.chat.completions.create(toOpenAIUpstreamRequest(request, model), { signal }), new OpenAIChunkDecoder(), signal, label, apiKey);
  }

  async embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    try {
      const res = await this.#client.embeddings.create({ model: this.options.model, input: request.inputs, encoding_format: "float" }, { signal });
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
  readonly #client: Anthropic;

  constructor(private readonly options: UpstreamOptions) {
    this.label = options.label;
    const config = {
      apiKey: options.apiKey ?? null,
      baseURL: options.route.baseUrl ?? options.defaultBaseUrl,
      timeout: options.route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxRetries: options.maxRetries,
    };
    this.#client = sharedClient("anthropic", config, () => new Anthropic(config));
  }

  chat(request: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    const { label, apiKey, model } = this.options;
    return relayUpstream(() => this.#client.messages.create(toAnthropicUpstreamRequest(request, model), { signal }), new AnthropicEventDecoder(), signal, label, apiKey);
  }
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
  try {
    // A plain loop, not `yield*` over the array: delegating to a sync iterable costs extra awaits per event.
    for await (const event of stream) for (const ev of decoder.decode(event)) yield ev;
  } catch (err) {
    if (signal.aborted && isAbortError(err)) {
      yield { type: "done", finishReason: "cancelled", usage: decoder.finish().usage };
      return;
    }
    throw toUpstreamError(err, label, apiKey);
  }
  yield decoder.finish();
}
