/**
 * Native generation endpoints in Ollama's shapes (`/api/chat`, `/api/generate`, `/api/embed`), shared by the daemon
 * (which validates requests with these schemas) and MlxmClient (which validates responses). Streams are NDJSON:
 * one response object per line, the last with `done: true`; a failure mid-stream is one `{error, code}` line.
 * Request types are the schemas' inputs (defaults optional), response types their outputs.
 */
import { z } from "zod";

/** Ollama tool calls carry the arguments as a JSON object, not as text. */
export const ToolCall = z.object({
  id: z.string().optional(),
  function: z.object({
    index: z.number().int().optional(),
    name: z.string(),
    arguments: z.record(z.string(), z.unknown()).default({}),
  }),
});
export type ToolCall = z.infer<typeof ToolCall>;

export const Message = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  /** Absent or null (an assistant turn that only called tools) reads as "". */
  content: z.string().nullish().transform((v) => v ?? ""),
  /** Base64 images (PNG, JPEG, GIF, WebP): a routed vision model gets them; a local text model refuses them (400). */
  images: z.array(z.string()).nullish(),
  thinking: z.string().optional(),
  tool_calls: z.array(ToolCall).nullish(),
  /** Tool results: which tool answered (Ollama's name) and, when the client kept it, which call. */
  tool_name: z.string().optional(),
  tool_call_id: z.string().optional(),
});
export type Message = z.input<typeof Message>;

export const Tool = z.object({
  type: z.literal("function").default("function"),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type Tool = z.input<typeof Tool>;

/** `"json"` for any JSON, a JSON Schema object for structured output, `""` for none. */
export const Format = z.union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())]);

/**
 * Ollama's `options`. The sampling ones are honoured; the runner ones (`num_ctx`, `num_thread`, ...) are accepted
 * and left to the daemon's own settings, as Ollama does for a model that is already loaded. A null value means
 * unset, as Ollama reads it (`FromMap` skips nil): some clients send every option they know, null when not set.
 */
export const Options = z.looseObject({
  temperature: z.number().min(0).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  /** Tokens to generate; -1 (and -2, "fill the context") mean no limit. */
  num_predict: z.number().int().min(-2).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  repeat_penalty: z.number().min(0).nullish(),
  /** How many recent tokens the penalties look back over: 0 turns them off, -1 means the whole context. */
  repeat_last_n: z.number().int().min(-1).nullish(),
  frequency_penalty: z.number().nullish(),
  presence_penalty: z.number().nullish(),
});
export type Options = z.input<typeof Options>;

/**
 * A field that may be absent or null, read as `value` then: Ollama's Go decoder reads null as unset, and some clients
 * send every field they know, null when not set (langchain_community's Ollama sends `"raw": null`).
 */
const orElse = <T extends z.ZodType>(schema: T, value: z.output<T>) => schema.nullish().transform((v) => v ?? value);

/** A duration string ("5m", "1h30m") or seconds; 0 unloads after the request, negative keeps the model loaded. */
export const KeepAlive = z.union([z.string(), z.number()]);

export const ChatRequest = z.object({
  model: z.string().min(1),
  messages: orElse(z.array(Message), []),
  tools: z.array(Tool).nullish(),
  format: Format.nullish(),
  options: Options.nullish(),
  /** Ollama streams unless told not to. */
  stream: orElse(z.boolean(), true),
  keep_alive: KeepAlive.nullish(),
  think: z.union([z.boolean(), z.string()]).nullish(),
});
export type ChatRequest = z.input<typeof ChatRequest>;

export const GenerateRequest = z.object({
  model: z.string().min(1),
  prompt: orElse(z.string(), ""),
  suffix: z.string().nullish(),
  system: z.string().nullish(),
  template: z.string().nullish(),
  context: z.array(z.number()).nullish(),
  /** No chat template: the prompt goes to the model as is. */
  raw: orElse(z.boolean(), false),
  format: Format.nullish(),
  images: z.array(z.string()).nullish(),
  options: Options.nullish(),
  stream: orElse(z.boolean(), true),
  keep_alive: KeepAlive.nullish(),
  think: z.union([z.boolean(), z.string()]).nullish(),
});
export type GenerateRequest = z.input<typeof GenerateRequest>;

/** Timings (nanoseconds) and token counts on the last line of a generation. */
const Metrics = {
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
  /** Of prompt_eval_count, the tokens read from the prompt-prefix cache instead of evaluated. */
  prompt_eval_cached_count: z.number().optional(),
  prompt_eval_duration: z.number().optional(),
  eval_count: z.number().optional(),
  eval_duration: z.number().optional(),
};

/** Why a generation ended: Ollama's "stop" and "length", plus "load"/"unload" for requests without input. */
export const DoneReason = z.string();

export const ChatResponse = z.object({
  model: z.string(),
  created_at: z.string(),
  message: z.object({
    role: z.string(),
    content: z.string(),
    thinking: z.string().optional(),
    tool_calls: z.array(ToolCall).optional(),
  }),
  done: z.boolean(),
  done_reason: DoneReason.optional(),
  ...Metrics,
});
export type ChatResponse = z.infer<typeof ChatResponse>;

export const GenerateResponse = z.object({
  model: z.string(),
  created_at: z.string(),
  response: z.string(),
  /** Reasoning text of a model whose template has a reasoning section. */
  thinking: z.string().optional(),
  done: z.boolean(),
  done_reason: DoneReason.optional(),
  ...Metrics,
});
export type GenerateResponse = z.infer<typeof GenerateResponse>;

export const EmbedRequest = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string())]),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().nullish(),
  options: Options.nullish(),
  keep_alive: KeepAlive.nullish(),
});
export type EmbedRequest = z.input<typeof EmbedRequest>;

export const EmbedResponse = z.object({
  model: z.string(),
  embeddings: z.array(z.array(z.number())),
  total_duration: z.number().optional(),
  load_duration: z.number().optional(),
  prompt_eval_count: z.number().optional(),
});
export type EmbedResponse = z.infer<typeof EmbedResponse>;

/** The legacy single-prompt `/api/embeddings`. */
export const EmbeddingsRequest = z.object({
  model: z.string().min(1),
  prompt: z.string(),
  options: Options.nullish(),
  keep_alive: KeepAlive.nullish(),
});
export type EmbeddingsRequest = z.input<typeof EmbeddingsRequest>;

export const EmbeddingsResponse = z.object({ embedding: z.array(z.number()) });
export type EmbeddingsResponse = z.infer<typeof EmbeddingsResponse>;
