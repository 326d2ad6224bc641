/**
 * Tool calling on local models. `auto` uses node-llama-cpp's function calling through the model's chat wrapper
 * (the model decides; a model that never calls functions just answers in text). `required` and a named tool
 * cannot be forced that way, so they use a grammar that admits only `{"name": <tool>, "arguments": {...}}` and
 * instructions in the system prompt: this works on any model, including one whose template has no tool syntax.
 */
import { randomBytes } from "node:crypto";
import type { ChatModelFunctions, GbnfJsonSchema } from "node-llama-cpp";
import type { ToolChoice, ToolDefinition } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { toGbnfJsonSchema } from "./json-schema.js";

/** How one request uses its tools. */
export type ToolMode =
  | { kind: "none" }
  | { kind: "auto"; functions: ChatModelFunctions }
  | { kind: "forced"; tools: ToolDefinition[]; schema: GbnfJsonSchema; instructions: string };

/** An id in OpenAI's style, which the caller echoes back with the tool result. */
export function newToolCallId(): string {
  return `call_${randomBytes(12).toString("base64url")}`;
}

export function toolMode(tools: readonly ToolDefinition[] | undefined, choice: ToolChoice | undefined): ToolMode {
  if (!tools?.length || choice?.type === "none") {
    if (choice?.type === "required" || choice?.type === "tool") throw badRequest("tool_choice needs tools", "tool_choice");
    return { kind: "none" };
  }
  tools.forEach((tool, i) => {
    if (!tool.name) throw badRequest("every tool needs a name", `tools[${i}].function.name`);
  });
  if (!choice || choice.type === "auto") {
    const functions: Record<string, ChatModelFunctions[string]> = {};
    tools.forEach((tool, i) => {
      functions[tool.name] = {
        ...(tool.description ? { description: tool.description } : {}),
        params: toGbnfJsonSchema(tool.parameters ?? {}, `tools[${i}].function.parameters`),
      };
    });
    return { kind: "auto", functions };
  }
  let chosen = [...tools];
  if (choice.type === "tool") {
    chosen = tools.filter((t) => t.name === choice.name);
    if (!chosen.length) throw badRequest(`tool_choice names "${choice.name}", which is not among the tools`, "tool_choice");
  }
  const alternatives = chosen.map((tool) => ({
    type: "object",
    properties: {
      name: { const: tool.name },
      arguments: toGbnfJsonSchema(tool.parameters ?? {}, `tools[${tools.indexOf(tool)}].function.parameters`),
    },
    required: ["name", "arguments"],
    additionalProperties: false,
  }));
  const schema = (alternatives.length === 1 ? alternatives[0] : { oneOf: alternatives }) as GbnfJsonSchema;
  return { kind: "forced", tools: chosen, schema, instructions: forcedInstructions(chosen) };
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
