/**
 * OpenAI Responses API requests (`POST /v1/responses`) → the core chat model. Pure translators (no I/O), beside the
 * Chat Completions and Anthropic ones: `fromResponsesRequest` validates a body and builds a core `ChatRequest` and the
 * request fields a Response repeats. mlxm stores no responses and runs no tools itself, so what needs either
 * (`previous_response_id`, `conversation`, `background`, built-in tools, item references) is a 400 naming it, as is
 * every other parameter it cannot honour. `input` items are read by `openai-responses-input.ts`; the way back is
 * `openai-response-output.ts` (JSON) and `openai-response-stream.ts` (SSE events).
 */
import { z } from "zod";
import type { FunctionTool, ResponseFormatTextConfig } from "openai/resources/responses/responses";
import type { ChatRequest, ReasoningOptions, ResponseFormat, ToolChoice, ToolDefinition } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { FunctionName } from "./openai-chat.js";
import type { ResponseEcho } from "./openai-response-output.js";
import { fromResponsesInput } from "./openai-responses-input.js";
import { parseAt, parseBody } from "./parse.js";

const FunctionToolSchema = z.strictObject({
  type: z.literal("function"),
  name: FunctionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
  defer_loading: z.boolean().optional(),
  allowed_callers: z.array(z.string()).nullish(),
  output_schema: z.unknown().optional(),
});

const NamedFunction = z.strictObject({ type: z.literal("function"), name: z.string() });

const TextFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    name: FunctionName,
    schema: z.record(z.string(), z.unknown()),
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
]);

const Summary = z.enum(["auto", "concise", "detailed"]).nullish();

/** The `/v1/responses` body. Unknown top-level fields are a 400, as OpenAI answers them. */
export const ResponsesRequestSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.unknown()).min(1)]),
  instructions: z.string().nullish(),
  tools: z.array(z.looseObject({ type: z.string() })).nullish(),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  /** 1 allows one call per turn (as `parallel_tool_calls: false`); a larger cap has no effect on a turn's calls. */
  max_tool_calls: z.number().int().min(1).nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  // Verbosity is a hint to OpenAI's own models (the Agents SDK and Codex send it for every gpt-5 name): accepted, and
  // without effect, as a local model's length follows its prompt.
  text: z.strictObject({ format: TextFormat.optional(), verbosity: z.enum(["low", "medium", "high"]).nullish() }).nullish(),
  reasoning: z
    .strictObject({
      effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh", "max"]).nullish(),
      // mlxm returns the reasoning text itself, never a summary of it: asking for one changes nothing.
      summary: Summary,
      generate_summary: Summary,
    })
    .nullish(),
  stream: z.boolean().nullish(),
  // mlxm adds no obfuscation padding to deltas, so there is nothing to turn off.
  stream_options: z.looseObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
  include: z.array(z.string()).nullish(),
  background: z.boolean().nullish(),
  // Accepted and without effect: mlxm stores nothing, tracks no end users, has one service tier, and reuses prompt
  // prefixes on its own.
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  prompt_cache_retention: z.enum(["in_memory", "24h"]).nullish(),
  prompt_cache_options: z.looseObject({}).nullish(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
  // Accepted to be refused by name (see `REFUSED`), so the 400 says why rather than "unrecognized".
  previous_response_id: z.unknown().optional(),
  conversation: z.unknown().optional(),
  prompt: z.unknown().optional(),
  // 0 asks for no logprobs (clients send it as a default); more is refused (see rejectUnsupported).
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  context_management: z.unknown().optional(),
  moderation: z.unknown().optional(),
});
export type ResponsesRequestBody = z.output<typeof ResponsesRequestSchema>;

const present = (v: unknown) => v !== undefined && v !== null;

const STATELESS = "mlxm does not store responses: send the whole conversation in `input`";

/** Parameters OpenAI defines that mlxm cannot honour: each is refused by name rather than ignored. */
const REFUSED: [string, string][] = [
  ["previous_response_id", `previous_response_id is not supported: ${STATELESS}`],
  ["conversation", `conversations are not supported: ${STATELESS}`],
  ["prompt", "prompt templates are not supported: send `instructions` and `input`"],
  ["context_management", "context management (compaction) is not supported"],
  ["moderation", "moderation is not supported"],
];

function rejectUnsupported(b: ResponsesRequestBody): void {
  for (const [param, message] of REFUSED) if (present(b[param as keyof ResponsesRequestBody])) throw badRequest(message, param);
  if (b.background === true) throw badRequest(`background responses are not supported: ${STATELESS}, and stream for progress`, "background");
  if (b.truncation === "auto") {
    // Dropping items to fit would change the conversation behind the caller's back; it can drop them itself.
    throw badRequest('truncation "auto" is not supported: a conversation longer than the context is refused (context_length_exceeded)', "truncation");
  }
  // Other includes ask for parts of items mlxm never produces (hosted tool results, images) or never encrypts
  // (reasoning, sent in the clear): there is nothing to add. Logprobs would be a promise not kept.
  const logprobs = b.include?.indexOf("message.output_text.logprobs") ?? -1;
  if (logprobs >= 0) throw badRequest("logprobs are not supported", `include[${logprobs}]`);
  if (b.top_logprobs) throw badRequest("top_logprobs is not supported (logprobs are not supported)", "top_logprobs");
}

/** Function tools as core definitions, and as the response repeats them. Built-in (hosted) tools are refused. */
function fromTools(tools: ResponsesRequestBody["tools"]): { definitions?: ToolDefinition[]; echo: FunctionTool[] } {
  if (!tools?.length) return { echo: [] };
  const echo: FunctionTool[] = [];
  const definitions = tools.map((tool, i): ToolDefinition => {
    const at = `tools[${i}]`;
    if (tool.type !== "function") {
      throw badRequest(`tools of type "${tool.type}" are not supported: mlxm runs no built-in tools itself; define function tools`, `${at}.type`);
    }
    const f = parseAt(FunctionToolSchema, tool, at);
    if (f.defer_loading === true) throw badRequest("defer_loading (tool search) is not supported", `${at}.defer_loading`);
    if (f.allowed_callers?.some((c) => c !== "direct")) throw badRequest("programmatic tool calling is not supported", `${at}.allowed_callers`);
    if (present(f.output_schema)) throw badRequest("output_schema is not supported", `${at}.output_schema`);
    echo.push({ type: "function", name: f.name, description: f.description ?? null, parameters: f.parameters ?? null, strict: f.strict ?? null });
    return {
      name: f.name,
      ...(f.description ? { description: f.description } : {}),
      parameters: f.parameters ?? { type: "object", properties: {} },
      parametersPath: `${at}.parameters`,
      // The Responses API's function tools are strict unless they say otherwise.
      ...(f.strict !== false ? { strict: true } : {}),
    };
  });
  return { definitions, echo };
}

function fromToolChoice(choice: ResponsesRequestBody["tool_choice"], tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (!present(choice)) return tools ? { type: "auto" } : undefined;
  if (choice === "none") return { type: "none" };
  if (typeof choice === "string") {
    if (tools) return { type: choice };
    if (choice === "auto") return undefined;
    throw badRequest(`tool_choice "${choice}" needs tools`, "tool_choice");
  }
  if (choice!.type === "allowed_tools") throw badRequest("tool_choice allowed_tools is not supported: send only the tools the model may call", "tool_choice.type");
  if (choice!.type !== "function") {
    throw badRequest(`tool_choice of type "${choice!.type}" is not supported: mlxm runs no built-in tools itself; name a function tool`, "tool_choice.type");
  }
  const { name } = parseAt(NamedFunction, choice, "tool_choice");
  if (!tools?.some((t) => t.name === name)) throw badRequest(`tool_choice names "${name}", which is not in tools`, "tool_choice.name");
  return { type: "tool", name };
}

/** `text.format` in the core's vocabulary (undefined: plain text), and as the response repeats it. */
function fromTextFormat(format: z.output<typeof TextFormat> | undefined): { core?: ResponseFormat; echo: ResponseFormatTextConfig } {
  if (!format || format.type === "text") return { echo: { type: "text" } };
  if (format.type === "json_object") return { core: { type: "json_object" }, echo: format };
  const { name, schema, description, strict } = format;
  return {
    core: { type: "json_schema", name, schema, ...(present(strict) ? { strict: strict! } : {}), param: "text.format.schema" },
    echo: { type: "json_schema", name, schema, ...(description ? { description } : {}), strict: strict ?? null },
  };
}

/**
 * `reasoning.effort`: "none" closes the reasoning section, any other level lets the model reason (a local model has
 * no effort levels; its template's reasoning section is on or off; an upstream gets the level). Absent: the model's
 * default.
 */
function fromReasoning(reasoning: ResponsesRequestBody["reasoning"]): ReasoningOptions | undefined {
  const effort = reasoning?.effort;
  if (!effort) return undefined;
  return { enabled: effort !== "none", param: "reasoning.effort", hint: true, ...(effort !== "none" ? { effort } : {}) };
}

/** What a `/v1/responses` body asks for: the core request, whether to stream, and what the response repeats. */
export interface TranslatedResponses {
  request: ChatRequest;
  stream: boolean;
  echo: ResponseEcho;
}

/** Validate a `/v1/responses` body and translate it into the core request. Throws 400s naming `param`. */
export function fromResponsesRequest(body: unknown): TranslatedResponses {
  const b = parseBody(ResponsesRequestSchema, body);
  rejectUnsupported(b);
  const tools = fromTools(b.tools);
  const sampling: ChatRequest["sampling"] = {};
  if (present(b.temperature)) sampling.temperature = b.temperature!;
  if (present(b.top_p)) sampling.topP = b.top_p!;
  if (present(b.max_output_tokens)) sampling.maxTokens = b.max_output_tokens!;
  const request: ChatRequest = { model: b.model, messages: fromResponsesInput(b.input, b.instructions), messagesParam: "input", sampling };
  if (tools.definitions) request.tools = tools.definitions;
  const toolChoice = fromToolChoice(b.tool_choice, tools.definitions);
  if (toolChoice) request.toolChoice = toolChoice;
  if (b.parallel_tool_calls === false || b.max_tool_calls === 1) request.parallelToolCalls = false;
  const format = fromTextFormat(b.text?.format);
  if (format.core) request.responseFormat = format.core;
  const reasoning = fromReasoning(b.reasoning);
  if (reasoning) request.reasoning = reasoning;
  const echo: ResponseEcho = {
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    metadata: b.metadata ?? {},
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: b.reasoning?.summary ?? null },
    temperature: b.temperature ?? null,
    text: { format: format.echo, ...(b.text?.verbosity ? { verbosity: b.text.verbosity } : {}) },
    tool_choice: toolChoice?.type === "tool" ? { type: "function", name: toolChoice.name } : typeof b.tool_choice === "string" ? b.tool_choice : "auto",
    tools: tools.echo,
    top_p: b.top_p ?? null,
    truncation: "disabled",
  };
  return { request, stream: b.stream === true, echo };
}
