/**
 * Tool calling on local models. `auto` uses node-llama-cpp's function calling through the model's chat wrapper
 * (the model decides; a model that never calls functions just answers in text). `required` and a named tool
 * cannot be forced that way, so they use a grammar that admits only `{"name": <tool>, "arguments": {...}}` and
 * instructions in the system prompt: this works on any model, including one whose template has no tool syntax.
 * Forced calls' parameters go through the project's schema compiler: a keyword it cannot enforce is a 400, and the
 * arguments generated are checked against the schema afterwards. `auto` calls are held by node-llama-cpp's grammar
 * to the schema's structure (types, properties, enums) and checked afterwards; only a strict tool's schema must
 * compile (see `SchemaGrammars.toolChecks`): MCP servers and Claude Code's tools use keywords no grammar enforces.
 *
 * `auto` with a response format (the Vercel AI SDK's `generateText({tools, output})`, LangChain agents with a
 * structured response) cannot use function calling: node-llama-cpp's LlamaChat refuses a grammar together with
 * functions, and has no grammar that unites "text in a format" with "a call". It runs as a forced call instead, with
 * one more function, the answer, whose parameters are the response format's schema (what LangChain's
 * withStructuredOutput does): the model calls a tool or answers, and a call of the answer function is turned back
 * into the assistant's text by the generation (see `answer` below), so the function never reaches the caller.
 */
import { randomBytes } from "node:crypto";
import type { ChatModelFunctions } from "node-llama-cpp";
import type { ResponseFormat, ToolChoice, ToolDefinition } from "../core/chat.js";
import { badRequest } from "../errors.js";
import type { PreparedToolCall, SchemaGrammars, ToolInput } from "./grammar/schema-grammars.js";
import type { SchemaCheck } from "./grammar/schema-validator.js";
import { toGbnfJsonSchema } from "./json-schema.js";

/** How one request uses its tools. */
export type ToolMode =
  | { kind: "none" }
  | { kind: "auto"; functions: ChatModelFunctions; checks: ReadonlyMap<string, (value: unknown) => SchemaCheck> }
  | {
      kind: "forced";
      tools: ToolDefinition[];
      grammar: PreparedToolCall;
      instructions: string;
      /**
       * The name of mlxm's own answer function (`auto` with a response format): a call of it is the model's final
       * answer, its arguments the answer's text in the format; its check in `grammar.checks` is the format's.
       */
      answer?: string;
    };

/** The answer function's name, unless a tool of the request has it (then a numbered one). */
export const ANSWER_FUNCTION = "final_answer";

/** An id in OpenAI's style, which the caller echoes back with the tool result. */
export function newToolCallId(): string {
  return `call_${randomBytes(12).toString("base64url")}`;
}

export function toolMode(
  tools: readonly ToolDefinition[] | undefined,
  choice: ToolChoice | undefined,
  grammars: SchemaGrammars,
  format?: ResponseFormat,
): ToolMode {
  if (!tools?.length || choice?.type === "none") {
    if (choice?.type === "required" || choice?.type === "tool") throw badRequest("tool_choice needs tools", "tool_choice");
    return { kind: "none" };
  }
  const inputs: ToolInput[] = tools.map((tool, i) => ({ name: tool.name, parameters: tool.parameters ?? {}, path: tool.parametersPath ?? `tools[${i}].function.parameters` }));
  const names = new Set<string>();
  tools.forEach((tool, i) => {
    if (!tool.name) throw badRequest("every tool needs a name", `tools[${i}].function.name`);
    if (names.has(tool.name)) throw badRequest(`tool names must be unique: "${tool.name}" is given twice`, `tools[${i}].function.name`);
    // node-llama-cpp refuses such a name mid-request (a 500); OpenAI and Anthropic callers are held to their own
    // stricter rule already, Ollama's are not.
    if (/\s/.test(tool.name)) throw badRequest(`a tool's name must not contain spaces, tabs or new lines: "${tool.name}"`, `tools[${i}].function.name`);
    names.add(tool.name);
    // A call's arguments are an object (as OpenAI and Anthropic require of the schema).
    const type = tool.parameters?.type;
    if (type !== undefined && type !== "object") {
      throw badRequest(`a tool's parameters must be an object schema ("type": "object"), got "type": ${JSON.stringify(type)}`, inputs[i]!.path);
    }
  });
  if (!choice || choice.type === "auto") {
    if (format && format.type !== "text") return answerOrCall(tools, inputs, format, grammars);
    const checks = grammars.toolChecks(inputs.map((input, i) => ({ ...input, strict: tools[i]!.strict === true })));
    const functions: Record<string, ChatModelFunctions[string]> = {};
    tools.forEach((tool, i) => {
      functions[tool.name] = {
        ...(tool.description ? { description: tool.description } : {}),
        params: toGbnfJsonSchema(tool.parameters ?? {}, inputs[i]!.path),
      };
    });
    return { kind: "auto", functions, checks };
  }
  let chosen = [...tools];
  if (choice.type === "tool") {
    chosen = tools.filter((t) => t.name === choice.name);
    if (!chosen.length) throw badRequest(`tool_choice names "${choice.name}", which is not among the tools`, "tool_choice");
  }
  const grammar = grammars.toolCall(inputs.filter((input) => chosen.some((t) => t.name === input.name)));
  return { kind: "forced", tools: chosen, grammar, instructions: forcedInstructions(chosen) };
}

/**
 * `auto` tools with a response format: a forced call of one of the tools or of the answer function, whose parameters
 * are the format's schema (any JSON object for `json_object`). The grammar admits exactly one call, so a turn is one
 * tool call or the answer, never both: an answer written beside a call, before the call's result is known, could not
 * be final, and sending both would leave the caller to guess which counts. The price: no parallel calls in this mode
 * (one tool call per turn, as with `required`).
 */
function answerOrCall(tools: readonly ToolDefinition[], inputs: readonly ToolInput[], format: Exclude<ResponseFormat, { type: "text" }>, grammars: SchemaGrammars): ToolMode {
  const taken = new Set(tools.map((t) => t.name));
  let answer = ANSWER_FUNCTION;
  for (let n = 2; taken.has(answer); n++) answer = `${ANSWER_FUNCTION}_${n}`;
  const schema = format.type === "json_schema" ? format.schema : { type: "object" };
  // A keyword the compiler refuses is named where the caller wrote it, as it would be without tools.
  const path = format.type === "json_schema" ? (format.param ?? "response_format.json_schema.schema") : "response_format";
  const grammar = grammars.toolCall([...inputs, { name: answer, parameters: schema, path }]);
  const description = `Your final answer${format.type === "json_schema" && format.name ? ` (${format.name})` : ""}, when no tool is needed: its arguments are the answer itself.`;
  const answerTool: ToolDefinition = { name: answer, description, parameters: schema };
  const instructions =
    `Reply with only a JSON object {"name": <tool name>, "arguments": <arguments>}: call one of the tools, or give your ` +
    `final answer by calling "${answer}".\n${toolList([...tools, answerTool])}`;
  return { kind: "forced", tools: [...tools], grammar, instructions, answer };
}

function forcedInstructions(tools: readonly ToolDefinition[]): string {
  const which = tools.length === 1 ? `the tool "${tools[0]!.name}"` : "one of these tools";
  return `Call ${which} by replying with only a JSON object {"name": <tool name>, "arguments": <arguments object>}.\n${toolList(tools)}`;
}

function toolList(tools: readonly ToolDefinition[]): string {
  const lines = tools.map((t) => {
    const description = t.description ? ` ${t.description}` : "";
    return `- ${t.name}:${description} Arguments (JSON schema): ${JSON.stringify(t.parameters ?? {})}`;
  });
  return `Tools:\n${lines.join("\n")}`;
}
