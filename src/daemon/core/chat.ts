/**
 * The one internal chat model. OpenAI, Anthropic and Ollama requests are translated into these types by pure
 * functions in `src/daemon/compat`; local and cloud backends consume them; their events are translated back.
 * Keep vendor vocabulary out of this file.
 */

export type Role = "system" | "user" | "assistant" | "tool";

export interface ToolCall {
  /** Stable id the caller echoes back in the tool result (OpenAI `call_…`, Anthropic `toolu_…`). */
  id: string;
  name: string;
  /** JSON text of the arguments, exactly as generated. */
  arguments: string;
}

/**
 * Media a message carries: inline bytes (base64, without a `data:` prefix) with their media type, or an http(s) URL
 * the upstream fetches itself. Translators turn a `data:` URL into bytes, so each encoder has one form of each.
 */
export type MediaSource = { kind: "base64"; mediaType: string; data: string } | { kind: "url"; url: string };

/** One piece of a message's content, in the caller's order. */
export type ContentPart =
  | { type: "text"; text: string }
  /** `detail`: how closely the model should look ("low", "high", "auto"), for an upstream that has the setting. */
  | { type: "image"; source: MediaSource; detail?: string }
  /** A PDF given inline; `name` is the file name or title the caller gave it. */
  | { type: "document"; source: Extract<MediaSource, { kind: "base64" }>; name?: string };

/** A content part that is not text: what only a vision (or document-reading) model can take. */
export type MediaPart = Exclude<ContentPart, { type: "text" }>;

export interface ChatMessage {
  role: Role;
  /** Text content; multi-part text inputs are joined by the translators. */
  content: string;
  /**
   * The whole content in the caller's order, set only when it holds more than text (images, documents), on user
   * turns and tool results. Beside `content` rather than instead of it: nearly every reader (chat templates, token
   * counts, system prompts, reasoning checks) wants text, and only the upstream encoders need text and images
   * interleaved. `content` stays the text parts joined, so text-only readers are unchanged; a reader that must not
   * lose media checks `parts` (the encoders send it, the local engine refuses it, traces record placeholders).
   */
  parts?: ContentPart[];
  /** Assistant turns that called tools. */
  toolCalls?: ToolCall[];
  /** Tool results: which call this answers. */
  toolCallId?: string;
  /** Tool results: the tool's name, when the protocol gives it. */
  name?: string;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
  /** Where the schema sits in the caller's request, for errors about it; default OpenAI's `tools[i].function.parameters`. */
  parametersPath?: string;
  /**
   * The caller marked the schema a contract (OpenAI's `strict: true`, the Responses API's default; Anthropic's
   * `strict: true`): a keyword mlxm cannot enforce is a 400 even when the model calls the tool on its own (`auto`).
   */
  strict?: boolean;
}

export type ToolChoice = { type: "auto" } | { type: "none" } | { type: "required" } | { type: "tool"; name: string };

/** Reasoning levels callers name, lowest first ("none" is `enabled: false`). */
export const REASONING_EFFORTS = ["minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/**
 * Reasoning ("thinking") for models whose chat template has a reasoning section. Omitted: the model's default.
 * `enabled: false` closes the reasoning section at once; `budgetTokens` caps how long it may stay open.
 */
export interface ReasoningOptions {
  enabled: boolean;
  budgetTokens?: number;
  /**
   * The level the caller named (OpenAI's `reasoning_effort` / `reasoning.effort`, Ollama's `think: "high"`). A local
   * template's reasoning section is only on or off; an upstream gets the level (routing/reasoning-upstream.ts).
   */
  effort?: ReasoningEffort;
  /**
   * A level OpenAI's clients send on every request (Codex, Copilot CLI) whatever the model: a model that cannot
   * reason answers without reasoning instead of refusing, as a translated upstream that refuses it is asked again
   * without (routing/providers.ts). Ollama's `think` and Anthropic's `thinking` are asked for on purpose: refused.
   */
  hint?: boolean;
  /** Where reasoning was asked for in the caller's request (for errors); default Anthropic's `thinking`. */
  param?: string;
}

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      name?: string;
      schema: Record<string, unknown>;
      strict?: boolean;
      /** Where the schema sits in the caller's request (for errors); default OpenAI's `response_format.json_schema.schema`. */
      param?: string;
    };

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  /** Upper bound on generated tokens; undefined means until the context is full or the model stops. */
  maxTokens?: number;
  stop?: string[];
  frequencyPenalty?: number;
  presencePenalty?: number;
  repeatPenalty?: number;
  /**
   * How many recent tokens the penalties look back over (Ollama's `repeat_last_n`): 0 turns the penalties off, -1 means
   * the whole context; undefined keeps the engine's default (64).
   */
  repeatLastN?: number;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** Where the conversation sits in the caller's request, for errors about it (a prompt too long); default `messages`. */
  messagesParam?: string;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  /** False: at most one tool call per turn (OpenAI `parallel_tool_calls: false`, Anthropic `disable_parallel_tool_use`). */
  parallelToolCalls?: boolean;
  reasoning?: ReasoningOptions;
  sampling: SamplingOptions;
  /** Ollama keep_alive semantics in ms: -1 forever, 0 unload after this request; undefined uses the default. */
  keepAliveMs?: number;
}

/**
 * A raw-prompt completion (OpenAI `/v1/completions`, Ollama `/api/generate` with `raw`), or a fill-in-the-middle one
 * (either, with `suffix`).
 */
export interface CompletionRequest {
  model: string;
  /** The text to continue; with `suffix`, the text before the gap. */
  prompt: string;
  /**
   * Fill-in-the-middle: the text after the gap, which the answer must lead into (code completion at a cursor). Only
   * models whose vocabulary has infill tokens serve it; never an empty string (that is no suffix).
   */
  suffix?: string;
  sampling: SamplingOptions;
  responseFormat?: ResponseFormat;
  keepAliveMs?: number;
}

export interface EmbeddingRequest {
  model: string;
  /** Texts, or lists of token ids (OpenAI's other input form), which only an upstream takes: a local model refuses them. */
  inputs: string[] | number[][];
  /** OpenAI's `dimensions`: passed to an upstream that shortens its vectors; a local model refuses it. */
  dimensions?: number;
  keepAliveMs?: number;
  /** Cut an input longer than the context to fit (Ollama's default) instead of refusing it (OpenAI's way). */
  truncate?: boolean;
}

export interface EmbeddingResult {
  model: string;
  embeddings: number[][];
  usage: { inputTokens: number };
  /** Time this request spent loading the model (absent, or 0, when it was loaded already or another backend served). */
  loadMs?: number;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "cancelled" | "error";

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /**
   * Of `inputTokens`, how many were read from a cache instead of being evaluated (the local engine's prompt-prefix
   * reuse; a provider's prompt cache). Absent when the backend does not say.
   */
  cachedInputTokens?: number;
  /**
   * Of `outputTokens`, how many were generated inside the reasoning section (OpenAI's `reasoning_tokens`). Absent
   * when the backend does not say or the model did not reason.
   */
  reasoningTokens?: number;
}

/**
 * Events a backend streams for one generation, in order: optionally one `start`, deltas, then exactly one `done`.
 * `start` reports the prompt's size before any token is generated (Anthropic's `message_start` carries it); a
 * backend that cannot know it yet sends none, and the usage in `done` is the authority.
 */
export type ChatEvent =
  | { type: "start"; inputTokens: number; cachedInputTokens?: number }
  | { type: "text"; text: string }
  /** Reasoning text: what the model generated inside its template's reasoning section (`<think>…</think>`). */
  | { type: "reasoning"; text: string }
  /** A tool call; a backend may emit the whole call at once or name first and arguments in pieces. */
  | { type: "tool_call_start"; index: number; id: string; name: string }
  | { type: "tool_call_delta"; index: number; argumentsDelta: string }
  /**
   * `stopSequence`: which of the request's stop strings ended the generation (finishReason "stop").
   * `usageUnreported`: the upstream never said its usage (an OpenAI stream left before its last chunk), so the zeros
   * in `usage` stand for unknown counts.
   */
  | { type: "done"; finishReason: FinishReason; usage: Usage; stopSequence?: string; timings?: GenerationTimings; usageUnreported?: true };

export interface GenerationTimings {
  queueMs: number;
  loadMs: number;
  /** Time from the request reaching the backend to the first generated token. */
  timeToFirstTokenMs?: number;
  generationMs: number;
}

/** The non-streamed form of a generation, built by `collectChat`. */
export interface ChatResult {
  text: string;
  /** Reasoning text; absent when the model did not reason. */
  reasoning?: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
  stopSequence?: string;
  timings?: GenerationTimings;
}

/** Fold a stream of events into one result (for non-streaming responses). */
export async function collectChat(events: AsyncIterable<ChatEvent>): Promise<ChatResult> {
  let text = "";
  let reasoning = "";
  const toolCalls: ToolCall[] = [];
  for await (const ev of events) {
    switch (ev.type) {
      case "text":
        text += ev.text;
        break;
      case "reasoning":
        reasoning += ev.text;
        break;
      case "tool_call_start":
        toolCalls[ev.index] = { id: ev.id, name: ev.name, arguments: "" };
        break;
      case "tool_call_delta":
        toolCalls[ev.index]!.arguments += ev.argumentsDelta;
        break;
      case "done":
        return {
          text,
          ...(reasoning ? { reasoning } : {}),
          toolCalls: toolCalls.filter(Boolean),
          finishReason: ev.finishReason,
          usage: ev.usage,
          ...(ev.stopSequence !== undefined ? { stopSequence: ev.stopSequence } : {}),
          timings: ev.timings,
        };
    }
  }
  throw new Error("generation stream ended without a done event");
}

/** What serves a model: the local engine or a cloud provider. */
export interface ChatBackend {
  chat(request: ChatRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  complete?(request: CompletionRequest, signal: AbortSignal): AsyncIterable<ChatEvent>;
  embed?(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult>;
}
