/**
 * Tool calling on local models. `auto` uses node-llama-cpp's function calling through the model's chat wrapper
 * (the model decides; a model that never calls functions just answers in text). `required` and a named tool
 * cannot be forced that way, so they use a grammar that admits only `{"name": <tool>, "arguments": {...}}` and
 * instructions in the system prompt: this works on any model, including one whose template has no tool syntax.
 * Parameters go through the project's schema compiler either way: a keyword it cannot enforce is a 400, and the
 * arguments generated are checked against the schema afterwards.
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
  | { kind: "forced"; tools: ToolDefinition[]; grammar: PreparedToolCall; instructions: string };

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
    // node-llama-cpp's function calling (what `auto` runs on) refuses a grammar, and whether to call a tool or answer
    // in the format is the model's choice: refused before anything is generated, never a 500 mid-stream.
    if (format && format.type !== "text") {
      throw badRequest(
        'a response format with tools the model may call on its own (tool_choice "auto") is not supported on local models: ' +
          'use tool_choice "required" or a named tool to get a call, "none" to get an answer in the format, or leave one out',
        "response_format",
      );
    }
    const checks = grammars.toolChecks(inputs);
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

function forcedInstructions(tools: readonly ToolDefinition[]): string {
  const lines = tools.map((t) => {
    const description = t.description ? ` ${t.description}` : "";
    return `- ${t.name}:${description} Arguments (JSON schema): ${JSON.stringify(t.parameters ?? {})}`;
  });
  const which = tools.length === 1 ? `the tool "${tools[0]!.name}"` : "one of these tools";
  return (
    `Call ${which} by replying with only a JSON object {"name": <tool name>, "arguments": <arguments object>}.\n` +
    `Tools:\n${lines.join("\n")}`
  );
}
