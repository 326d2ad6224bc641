/**
 * Anthropic Messages requests → the core chat model. Pure translators (no I/O), beside the OpenAI and Ollama ones:
 * `fromMessagesRequest` validates a `/v1/messages` body and builds a core `ChatRequest`. Images and PDF documents
 * become core content parts (`anthropic-media.ts`); content or a parameter mlxm cannot honour (server tools,
 * citations, containers…) is a 400 naming it. The way back (JSON and named SSE events) is
 * `anthropic-message-response.ts`.
 */
import { z } from "zod";
import type { ChatMessage, ChatRequest, ContentPart, ReasoningOptions, ToolChoice, ToolDefinition } from "../core/chat.js";
import { fromParts } from "../core/message-parts.js";
import { badRequest } from "../errors.js";
import { fromDocumentBlock, fromImageBlock } from "./anthropic-media.js";
import { checkToolPairing } from "./anthropic-tool-pairing.js";
import { parseBody } from "./parse.js";

const CacheControl = z.looseObject({ type: z.string() }).nullish();
const Block = z.looseObject({ type: z.string() });
const Content = z.union([z.string(), z.array(Block)]);

const Message = z.looseObject({ role: z.enum(["user", "assistant"]), content: Content });

const TextBlockParam = z.looseObject({
  type: z.literal("text"),
  text: z.string(),
  cache_control: CacheControl,
  citations: z.array(z.unknown()).nullish(),
});

const ToolName = z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, "must be 1-128 characters of a-z, A-Z, 0-9, underscores and dashes");

const Tool = z.looseObject({
  type: z.string().nullish(),
  name: z.string(),
  description: z.string().nullish(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  cache_control: CacheControl,
});

const ParallelFlag = { disable_parallel_tool_use: z.boolean().nullish() };
const ToolChoiceSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("auto"), ...ParallelFlag }),
  z.strictObject({ type: z.literal("any"), ...ParallelFlag }),
  z.strictObject({ type: z.literal("tool"), name: z.string(), ...ParallelFlag }),
  z.strictObject({ type: z.literal("none") }),
]);

const Display = { display: z.enum(["summarized", "omitted"]).nullish() };
const ThinkingSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1), ...Display }),
  z.strictObject({ type: z.literal("adaptive"), ...Display }),
  z.strictObject({ type: z.literal("disabled") }),
  // Thinking off; the progress notes Anthropic's models write between tool calls come back as thinking blocks.
  z.strictObject({ type: z.literal("between_tools") }),
]);

const OutputFormat = z.strictObject({ type: z.literal("json_schema"), schema: z.record(z.string(), z.unknown()) });

const OutputConfig = z.strictObject({
  effort: z.unknown().optional(),
  format: OutputFormat.nullish(),
});

/** Fields both `/v1/messages` and `/v1/messages/count_tokens` take. Unknown top-level fields are a 400, as Anthropic answers them. */
const CommonFields = {
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  system: z.union([z.string(), z.array(TextBlockParam)]).nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  thinking: ThinkingSchema.nullish(),
  output_config: OutputConfig.nullish(),
  // The structured-outputs beta's first form, deprecated for output_config.format but still sent by older clients.
  output_format: OutputFormat.nullish(),
  cache_control: CacheControl,
  // Accepted to be refused by name (see `REFUSED`), so the 400 says why rather than "unrecognized".
  container: z.unknown().optional(),
  mcp_servers: z.unknown().optional(),
  context_management: z.unknown().optional(),
  inference_geo: z.unknown().optional(),
  diagnostics: z.unknown().optional(),
};

const GenerationFields = {
  max_tokens: z.number().int().min(1),
  stop_sequences: z.array(z.string()).nullish(),
  stream: z.boolean().nullish(),
  temperature: z.number().min(0).max(1).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  metadata: z.looseObject({ user_id: z.string().max(256).nullish() }).nullish(),
  service_tier: z.enum(["auto", "standard_only"]).nullish(),
  speed: z.enum(["standard", "fast"]).nullish(),
  user_profile_id: z.unknown().optional(),
  workspace_id: z.unknown().optional(),
};

/** The `/v1/messages` body. */
export const MessagesRequestSchema = z.strictObject({ ...CommonFields, ...GenerationFields });
export type MessagesRequestBody = z.output<typeof MessagesRequestSchema>;

/**
 * The `/v1/messages/count_tokens` body: Anthropic's count fields, plus the create-only ones (optional), so the same
 * body a client is about to send to `/v1/messages` can be counted as it is.
 */
export const CountTokensRequestSchema = z.strictObject({ ...CommonFields, ...GenerationFields, max_tokens: GenerationFields.max_tokens.nullish() });

const present = (v: unknown) => v !== undefined && v !== null;

/** Parameters Anthropic defines that a local model cannot honour: each is refused by name rather than ignored. */
const REFUSED: [string, string][] = [
  ["container", "containers (code execution) are not supported"],
  ["mcp_servers", "MCP servers are not supported: mlxm does not call tools itself"],
  ["context_management", "context management is not supported"],
  ["inference_geo", "inference_geo is not supported: mlxm runs on this machine"],
  ["diagnostics", "diagnostics are not supported"],
  ["user_profile_id", "user_profile_id is not supported"],
  ["workspace_id", "workspace_id is not supported"],
];

function rejectUnsupported(body: Record<string, unknown>): void {
  for (const [param, message] of REFUSED) if (present(body[param])) throw badRequest(message, param);
  if (body.speed === "fast") throw badRequest("speed \"fast\" is not supported", "speed");
  const config = body.output_config as z.output<typeof OutputConfig> | null | undefined;
  if (present(config?.effort)) throw badRequest("output_config.effort is not supported by local models", "output_config.effort");
}

/** What a `/v1/messages` body asks for: the core request and whether to stream. */
export interface TranslatedMessages {
  request: ChatRequest;
  stream: boolean;
}

/** A text block's text; anything a text block may carry that mlxm cannot honour is refused. */
function textBlock(block: z.output<typeof Block>, at: string): string {
  const parsed = TextBlockParam.safeParse(block);
  if (!parsed.success) throw badRequest("a text block needs a `text` string", `${at}.text`);
  if (parsed.data.citations?.length) throw badRequest("citations are not supported", `${at}.citations`);
  return parsed.data.text;
}

function unsupportedBlock(type: string, at: string): never {
  const what: Record<string, string> = {
    search_result: "search results are not supported",
    server_tool_use: "server tools are not supported: mlxm runs no tools itself",
    container_upload: "container uploads are not supported",
  };
  const message = what[type] ?? (type.endsWith("_tool_result") ? "server tool results are not supported" : `content blocks of type "${type}" are not supported here`);
  throw badRequest(message, `${at}.type`);
}

/** A block of a user turn or a tool result: text, an image or a PDF document; anything else is refused. */
function contentPart(block: unknown, at: string): ContentPart {
  const type = String((block as { type?: unknown } | null)?.type);
  if (type === "text") return { type: "text", text: textBlock(block as z.output<typeof Block>, at) };
  if (type === "image") return fromImageBlock(block, at);
  if (type === "document") return fromDocumentBlock(block, at);
  return unsupportedBlock(type, at);
}

/** A tool result's content: a string, or text, image and document blocks; an error result says so, as the model must know. */
function toolResultContent(block: z.output<typeof Block>, at: string): Pick<ChatMessage, "content" | "parts"> {
  const content = block.content as unknown;
  let parts: ContentPart[];
  if (content === undefined || content === null) parts = [];
  else if (typeof content === "string") parts = [{ type: "text", text: content }];
  else if (Array.isArray(content)) parts = content.map((part: unknown, k) => contentPart(part, `${at}.content[${k}]`));
  else throw badRequest("tool_result content must be a string or a list of blocks", `${at}.content`);
  // The core has no error flag on tool results; the chat template only shows text, so the text carries it.
  if (block.is_error === true) {
    const first = parts[0];
    if (first?.type === "text") parts[0] = { type: "text", text: `Error: ${first.text}` };
    else parts.unshift({ type: "text", text: "Error: " });
  }
  return fromParts(parts);
}

function fromUserContent(content: z.output<typeof Content>, at: string, toolNames: Map<string, string>, out: ChatMessage[]): void {
  if (typeof content === "string") {
    out.push({ role: "user", content });
    return;
  }
  let parts: ContentPart[] = [];
  const flush = () => {
    if (parts.length) out.push({ role: "user", ...fromParts(parts) });
    parts = [];
  };
  content.forEach((block, j) => {
    const where = `${at}.content[${j}]`;
    if (block.type !== "tool_result") {
      parts.push(contentPart(block, where));
      return;
    }
    if (typeof block.tool_use_id !== "string") throw badRequest("a tool_result block needs tool_use_id", `${where}.tool_use_id`);
    flush();
    const name = toolNames.get(block.tool_use_id);
    out.push({ role: "tool", ...toolResultContent(block, where), toolCallId: block.tool_use_id, ...(name ? { name } : {}) });
  });
  flush();
}

function fromAssistantContent(content: z.output<typeof Content>, at: string, toolNames: Map<string, string>): ChatMessage {
  if (typeof content === "string") return { role: "assistant", content };
  const texts: string[] = [];
  const toolCalls: NonNullable<ChatMessage["toolCalls"]> = [];
  content.forEach((block, j) => {
    const where = `${at}.content[${j}]`;
    switch (block.type) {
      case "text":
        texts.push(textBlock(block, where));
        break;
      case "tool_use": {
        if (typeof block.id !== "string" || !block.id) throw badRequest("a tool_use block needs an id", `${where}.id`);
        if (typeof block.name !== "string" || !block.name) throw badRequest("a tool_use block needs a name", `${where}.name`);
        // As Anthropic: the arguments are an object (a model would otherwise learn from a call no schema allows).
        const input = block.input as unknown;
        if (input !== undefined && (input === null || typeof input !== "object" || Array.isArray(input))) throw badRequest("a tool_use block's input must be an object", `${where}.input`);
        toolNames.set(block.id, block.name);
        toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
        break;
      }
      case "thinking":
      case "redacted_thinking":
        // Earlier turns' reasoning is not shown to the model again, as Anthropic's own models drop it from context.
        break;
      default:
        unsupportedBlock(block.type, where);
    }
  });
  return { role: "assistant", content: texts.join(""), ...(toolCalls.length ? { toolCalls } : {}) };
}

function fromMessages(body: { system?: MessagesRequestBody["system"]; messages: MessagesRequestBody["messages"] }): ChatMessage[] {
  const out: ChatMessage[] = [];
  const system = body.system;
  if (typeof system === "string" && system) out.push({ role: "system", content: system });
  else if (Array.isArray(system) && system.length) {
    out.push({ role: "system", content: system.map((b, j) => textBlock(b, `system[${j}]`)).join("\n") });
  }
  checkToolPairing(body.messages);
  const toolNames = new Map<string, string>();
  body.messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (m.role === "user") fromUserContent(m.content, at, toolNames, out);
    else out.push(fromAssistantContent(m.content, at, toolNames));
  });
  return out;
}

function fromTools(tools: MessagesRequestBody["tools"]): ToolDefinition[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t, i) => {
    if (present(t.type) && t.type !== "custom") {
      throw badRequest(`server tools ("${t.type}") are not supported: mlxm runs no tools itself; define custom tools`, `tools[${i}].type`);
    }
    const name = ToolName.safeParse(t.name);
    if (!name.success) throw badRequest(`Invalid value for 'tools[${i}].name': ${name.error.issues[0]!.message}`, `tools[${i}].name`);
    // Checked here, not only by the engine, so the error names Anthropic's field rather than OpenAI's `function.name`.
    if (tools.findIndex((u) => u.name === t.name) < i) throw badRequest(`Tool names must be unique: "${t.name}" is given twice.`, `tools[${i}].name`);
    if (!t.input_schema) throw badRequest("a tool needs input_schema", `tools[${i}].input_schema`);
    if (t.defer_loading === true) throw badRequest("defer_loading (tool search) is not supported", `tools[${i}].defer_loading`);
    return {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      parameters: t.input_schema,
      parametersPath: `tools[${i}].input_schema`,
      ...((t as { strict?: unknown }).strict === true ? { strict: true } : {}),
    };
  });
}

function fromToolChoice(choice: MessagesRequestBody["tool_choice"], tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (!choice) return undefined;
  if (choice.type === "none") return { type: "none" };
  if (!tools) {
    if (choice.type === "auto") return undefined;
    throw badRequest(`tool_choice "${choice.type}" needs tools`, "tool_choice");
  }
  if (choice.type === "auto") return { type: "auto" };
  if (choice.type === "any") return { type: "required" };
  if (!tools.some((t) => t.name === choice.name)) throw badRequest(`tool_choice names "${choice.name}", which is not in tools`, "tool_choice.name");
  return { type: "tool", name: choice.name };
}

function fromThinking(thinking: MessagesRequestBody["thinking"], maxTokens: number | null | undefined): ReasoningOptions | undefined {
  if (!thinking) return undefined;
  // A local model writes no progress notes of its own between tool calls, so between_tools is thinking off.
  if (thinking.type === "disabled" || thinking.type === "between_tools") return { enabled: false };
  if (thinking.display === "omitted") throw badRequest("thinking.display \"omitted\" is not supported", "thinking.display");
  if (thinking.type === "adaptive") return { enabled: true };
  if (present(maxTokens) && thinking.budget_tokens >= maxTokens!) {
    throw badRequest("thinking.budget_tokens must be less than max_tokens", "thinking.budget_tokens");
  }
  return { enabled: true, budgetTokens: thinking.budget_tokens };
}

/** The core request both endpoints build; `maxTokens` is absent when counting. */
function toChatRequest(b: z.output<typeof CountTokensRequestSchema>): ChatRequest {
  rejectUnsupported(b);
  const tools = fromTools(b.tools);
  const sampling: ChatRequest["sampling"] = {};
  if (present(b.temperature)) sampling.temperature = b.temperature!;
  if (present(b.top_p)) sampling.topP = b.top_p!;
  if (present(b.top_k)) sampling.topK = b.top_k!;
  if (present(b.max_tokens)) sampling.maxTokens = b.max_tokens!;
  const stop = b.stop_sequences?.filter((s) => s.length > 0);
  if (stop?.length) sampling.stop = stop;
  const request: ChatRequest = { model: b.model, messages: fromMessages(b), sampling };
  if (tools) request.tools = tools;
  const toolChoice = fromToolChoice(b.tool_choice, tools);
  if (toolChoice) request.toolChoice = toolChoice;
  if (b.tool_choice && "disable_parallel_tool_use" in b.tool_choice && b.tool_choice.disable_parallel_tool_use === true) {
    request.parallelToolCalls = false;
  }
  const reasoning = fromThinking(b.thinking, b.max_tokens);
  if (reasoning) request.reasoning = reasoning;
  if (b.output_format && b.output_config?.format) throw badRequest("give output_config.format or the deprecated output_format, not both", "output_format");
  const format = b.output_config?.format ?? b.output_format;
  if (format) request.responseFormat = { type: "json_schema", schema: format.schema };
  return request;
}

/** Validate a `/v1/messages` body and translate it into the core request. Throws 400s naming `param`. */
export function fromMessagesRequest(body: unknown): TranslatedMessages {
  const b = parseBody(MessagesRequestSchema, body);
  return { request: toChatRequest(b), stream: b.stream === true };
}

/** Validate a `/v1/messages/count_tokens` body: the request whose prompt is to be counted. */
export function fromCountTokensRequest(body: unknown): ChatRequest {
  return toChatRequest(parseBody(CountTokensRequestSchema, body));
}
