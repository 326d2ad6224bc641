/**
 * OpenAI Chat Completions → the core chat model. A pure translator (no I/O), as Ollama's `openai/openai.go`:
 * `fromChatCompletionRequest` validates a `/v1/chat/completions` body and builds a core `ChatRequest`. A parameter
 * mlxm cannot honour is a 400 naming it, never silently ignored. The answer's side is `openai-chat-response.ts`.
 */
import { z } from "zod";
import type { ChatMessage, ChatRequest, ContentPart, ResponseFormat, ToolChoice, ToolDefinition } from "../core/chat.js";
import { fromParts } from "../core/message-parts.js";
import { badRequest } from "../errors.js";
import { fromChatFilePart, fromChatImagePart } from "./openai-media.js";
import { parseBody } from "./parse.js";

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const Content = z.union([z.string(), z.array(ContentPart)]);

const MessageToolCall = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const Message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: Content.nullish(),
  name: z.string().nullish(),
  tool_calls: z.array(MessageToolCall).nullish(),
  tool_call_id: z.string().nullish(),
  refusal: z.string().nullish(),
  audio: z.unknown().optional(),
  function_call: z.unknown().optional(),
});

/** A function (tool, schema) name as OpenAI accepts it. */
export const FunctionName = z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, "must be 1-64 characters of a-z, A-Z, 0-9, underscores, dots and dashes");

const Tool = z.looseObject({
  type: z.string(),
  function: z
    .looseObject({
      name: FunctionName,
      description: z.string().nullish(),
      parameters: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    })
    .optional(),
});

const ResponseFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.looseObject({
      name: FunctionName,
      description: z.string().nullish(),
      schema: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

const ToolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
]);

/**
 * Sampling fields shared with `/v1/completions`; `top_k`, `min_p`, `repeat_penalty` and `repeat_last_n` are mlxm
 * extensions (llama-server's names), which an mlxm daemon routing to another one passes on.
 */
export const SamplingFields = {
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repeat_penalty: z.number().min(0).nullish(),
  repeat_last_n: z.number().int().min(-1).nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish(), include_obfuscation: z.boolean().nullish() }).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
  user: z.string().nullish(),
};

/** The `/v1/chat/completions` body. Unknown top-level fields are a 400, as OpenAI answers them. */
export const ChatCompletionRequestSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  ...SamplingFields,
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  response_format: ResponseFormatSchema.nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  service_tier: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.string().nullish(),
  modalities: z.array(z.string()).nullish(),
  audio: z.unknown().optional(),
  prediction: z.unknown().optional(),
  web_search_options: z.unknown().optional(),
  reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).nullish(),
  verbosity: z.unknown().optional(),
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
});
export type ChatCompletionRequestBody = z.output<typeof ChatCompletionRequestSchema>;

/** What a `/v1/chat/completions` body asks for: the core request plus how to answer it. */
export interface TranslatedChatCompletion {
  request: ChatRequest;
  stream: boolean;
  includeUsage: boolean;
  /** Tools are offered and not turned off: the answer may be a tool-call turn (see `toChatCompletionChunks`). */
  mayCallTools: boolean;
}

const present = (v: unknown) => v !== undefined && v !== null;

/**
 * Parameters OpenAI defines that a local model cannot honour. Each is refused by name rather than ignored, so a
 * client never believes it got what it asked for.
 */
function rejectUnsupported(body: Record<string, unknown> & { n?: number | null; logprobs?: boolean | null }): void {
  if (present(body.n) && body.n !== 1) throw badRequest("n > 1 is not supported: mlxm generates one choice per request", "n");
  if (body.logprobs === true) throw badRequest("logprobs are not supported", "logprobs");
  if (present(body.top_logprobs)) throw badRequest("top_logprobs is not supported (logprobs are not supported)", "top_logprobs");
  const bias = body.logit_bias as Record<string, number> | null | undefined;
  if (bias && Object.keys(bias).length > 0) throw badRequest("logit_bias is not supported", "logit_bias");
  if (body.store === true) throw badRequest("store is not supported: mlxm does not store completions", "store");
  const modalities = body.modalities as string[] | null | undefined;
  if (modalities?.some((m) => m !== "text")) throw badRequest("only the text modality is supported", "modalities");
  const refused: [string, string][] = [
    ["audio", "audio output is not supported"],
    ["prediction", "predicted outputs are not supported"],
    ["web_search_options", "web search is not supported"],
    ["verbosity", "verbosity is not supported"],
    ["functions", "the deprecated `functions` parameter is not supported; use `tools`"],
    ["function_call", "the deprecated `function_call` parameter is not supported; use `tool_choice`"],
  ];
  for (const [param, message] of refused) if (present(body[param])) throw badRequest(message, param);
}

function textPart(part: z.output<typeof ContentPart>, at: string): string {
  if (typeof part.text !== "string") throw badRequest("a text content part needs a `text` string", `${at}.text`);
  return part.text;
}

/**
 * Join text parts; anything but text is refused, naming the part. Images and files are taken in user turns only
 * (`userContent`), as OpenAI takes them.
 */
function textOf(content: z.output<typeof Content> | null | undefined, param: string, role: string, allowRefusal = false): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  const texts: string[] = [];
  content.forEach((part, j) => {
    if (part.type === "text") texts.push(textPart(part, `${param}[${j}]`));
    else if (!(part.type === "refusal" && allowRefusal)) throw badRequest(`content parts of type "${part.type}" are not supported in a ${role} message`, `${param}[${j}].type`);
  });
  return texts.join("\n");
}

/** A user turn: text, images (`image_url`) and PDFs (`file`) in order; audio is refused. */
function userContent(content: z.output<typeof Content>, param: string): Pick<ChatMessage, "content" | "parts"> {
  if (typeof content === "string") return { content };
  const part = (p: z.output<typeof ContentPart>, at: string): ContentPart => {
    switch (p.type) {
      case "text":
        return { type: "text", text: textPart(p, at) };
      case "image_url":
        return fromChatImagePart(p, at);
      case "file":
        return fromChatFilePart(p, at);
      case "input_audio":
        throw badRequest("audio input is not supported", `${at}.type`);
      default:
        throw badRequest(`content parts of type "${p.type}" are not supported`, `${at}.type`);
    }
  };
  return fromParts(content.map((p, j) => part(p, `${param}[${j}]`)));
}

function fromMessages(messages: ChatCompletionRequestBody["messages"]): ChatMessage[] {
  return messages.map((m, i): ChatMessage => {
    const at = `messages[${i}]`;
    if (m.role === "function") throw badRequest("the deprecated `function` role is not supported; use `tool`", `${at}.role`);
    if (present(m.audio)) throw badRequest("audio in messages is not supported", `${at}.audio`);
    if (present(m.function_call)) throw badRequest("the deprecated `function_call` is not supported; use `tool_calls`", `${at}.function_call`);
    switch (m.role) {
      case "system":
      case "developer":
      case "user":
        if (!present(m.content)) throw badRequest(`a ${m.role} message needs content`, `${at}.content`);
        // `name` (a participant's name) has no place in a chat template; like OpenAI's own models, it only labels.
        if (m.role === "user") return { role: "user", ...userContent(m.content!, `${at}.content`) };
        return { role: "system", content: textOf(m.content, `${at}.content`, m.role) };
      case "assistant": {
        const toolCalls = m.tool_calls?.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
        if (!present(m.content) && !toolCalls?.length) throw badRequest("an assistant message needs content or tool_calls", `${at}.content`);
        return { role: "assistant", content: textOf(m.content, `${at}.content`, m.role, true), ...(toolCalls?.length ? { toolCalls } : {}) };
      }
      case "tool": {
        if (!m.tool_call_id) throw badRequest("a tool message needs tool_call_id", `${at}.tool_call_id`);
        if (!present(m.content)) throw badRequest("a tool message needs content", `${at}.content`);
        const name = findToolName(messages.slice(0, i), m.tool_call_id);
        // OpenAI refuses a tool message that answers no earlier call (it asks for the call right before; only an id
        // that matches no call at all is refused here, so no normal history from a client is).
        if (name === undefined) {
          throw badRequest(`tool_call_id ${m.tool_call_id} answers no tool call in an earlier assistant message`, `${at}.tool_call_id`);
        }
        return { role: "tool", content: textOf(m.content, `${at}.content`, m.role), toolCallId: m.tool_call_id, name };
      }
    }
  });
}

/** OpenAI tool results carry only the call id; the tool's name is on the assistant turn that made the call. */
function findToolName(before: ChatCompletionRequestBody["messages"], id: string): string | undefined {
  for (let i = before.length - 1; i >= 0; i--) {
    const call = before[i]!.tool_calls?.find((c) => c.id === id);
    if (call) return call.function.name;
  }
  return undefined;
}

function fromTools(tools: ChatCompletionRequestBody["tools"]): ToolDefinition[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t, i) => {
    if (t.type !== "function") throw badRequest(`tools of type "${t.type}" are not supported; use "function"`, `tools[${i}].type`);
    if (!t.function) throw badRequest("a function tool needs `function`", `tools[${i}].function`);
    return {
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      parameters: t.function.parameters ?? { type: "object", properties: {} },
      ...(t.function.strict === true ? { strict: true } : {}),
    };
  });
}

function fromToolChoice(choice: ChatCompletionRequestBody["tool_choice"], tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (!present(choice)) return tools ? { type: "auto" } : undefined;
  if (choice === "none") return { type: "none" };
  if (!tools) throw badRequest("tool_choice needs `tools`", "tool_choice");
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "required" };
  const name = choice!.function.name;
  if (!tools.some((t) => t.name === name)) throw badRequest(`tool_choice names "${name}", which is not in tools`, "tool_choice");
  return { type: "tool", name };
}

/** OpenAI's `response_format` in the core's vocabulary; `json_schema` without a schema is plain JSON mode. */
export function fromResponseFormat(format: z.output<typeof ResponseFormatSchema> | null | undefined): ResponseFormat | undefined {
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  const s = format.json_schema;
  if (!s.schema) return { type: "json_object" };
  return { type: "json_schema", name: s.name, schema: s.schema, ...(s.strict != null ? { strict: s.strict } : {}) };
}

/** `stop` as a list; OpenAI allows one string or up to four. */
export const stopList = (stop: string | string[] | null | undefined): string[] | undefined =>
  stop === undefined || stop === null ? undefined : (typeof stop === "string" ? [stop] : stop).filter((s) => s.length > 0);

/** The sampling fields both OpenAI endpoints share, without undefined keys. */
export function fromSamplingFields(body: {
  temperature?: number | null; top_p?: number | null; top_k?: number | null; min_p?: number | null; repeat_penalty?: number | null;
  repeat_last_n?: number | null;
  seed?: number | null; frequency_penalty?: number | null; presence_penalty?: number | null; stop?: string | string[] | null;
}, maxTokens: number | null | undefined): ChatRequest["sampling"] {
  const s: ChatRequest["sampling"] = {};
  if (present(body.temperature)) s.temperature = body.temperature!;
  if (present(body.top_p)) s.topP = body.top_p!;
  if (present(body.top_k)) s.topK = body.top_k!;
  if (present(body.min_p)) s.minP = body.min_p!;
  if (present(body.repeat_penalty)) s.repeatPenalty = body.repeat_penalty!;
  if (present(body.repeat_last_n)) s.repeatLastN = body.repeat_last_n!;
  if (present(body.seed)) s.seed = body.seed!;
  if (present(maxTokens)) s.maxTokens = maxTokens!;
  if (present(body.frequency_penalty)) s.frequencyPenalty = body.frequency_penalty!;
  if (present(body.presence_penalty)) s.presencePenalty = body.presence_penalty!;
  const stop = stopList(body.stop);
  if (stop?.length) s.stop = stop;
  return s;
}

/** Validate a `/v1/chat/completions` body and translate it into the core request. Throws 400s naming `param`. */
export function fromChatCompletionRequest(body: unknown): TranslatedChatCompletion {
  const b = parseBody(ChatCompletionRequestSchema, body);
  rejectUnsupported(b);
  if (!b.stream && present(b.stream_options)) throw badRequest("stream_options is only allowed with stream: true", "stream_options");
  const tools = fromTools(b.tools);
  const request: ChatRequest = {
    model: b.model,
    messages: fromMessages(b.messages),
    sampling: fromSamplingFields(b, b.max_completion_tokens ?? b.max_tokens),
  };
  if (tools) request.tools = tools;
  const toolChoice = fromToolChoice(b.tool_choice, tools);
  if (toolChoice) request.toolChoice = toolChoice;
  if (b.parallel_tool_calls === false) request.parallelToolCalls = false;
  const responseFormat = fromResponseFormat(b.response_format);
  if (responseFormat) request.responseFormat = responseFormat;
  // As the Responses API's reasoning.effort: "none" closes a local model's reasoning section, a level opens it, and
  // an upstream gets the level.
  if (b.reasoning_effort) {
    const effort = b.reasoning_effort;
    request.reasoning = { enabled: effort !== "none", param: "reasoning_effort", hint: true, ...(effort !== "none" ? { effort } : {}) };
  }
  return {
    request,
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
    mayCallTools: tools !== undefined && toolChoice?.type !== "none",
  };
}
