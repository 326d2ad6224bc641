/**
 * The grammar of a forced tool call (pure): exactly `{"name":"<tool>","arguments":<arguments>}`, with no
 * whitespace in the wrapper, so a stream can be cut into name and argument deltas as it is written (see
 * forced-call-stream.ts). Each tool's parameters go through the same compiler as response formats.
 */
import { literal, RuleSet } from "./gbnf.js";
import { SchemaCompiler } from "./json-schema-compiler.js";
import { joinPath, UnsupportedSchemaError } from "./schema-errors.js";

/** The fixed text before a tool's arguments. */
export const callPrefix = (name: string) => `{"name":${JSON.stringify(name)},"arguments":`;

/** One tool's parameters, with where they sit in the request (for errors). */
export interface ToolSchema {
  name: string;
  parameters: unknown;
  /** e.g. `tools[2].function.parameters`. */
  path: string;
}

/** GBNF admitting one call of any of `tools`. Throws {@link UnsupportedSchemaError} with a request-relative path. */
export function compileToolCallGrammar(tools: readonly ToolSchema[]): string {
  const rules = new RuleSet();
  const calls = tools.map((tool, i) => {
    try {
      const args = new SchemaCompiler(tool.parameters ?? {}, rules, `t${i}-`).value();
      return `${literal(callPrefix(tool.name))} ${args} "}"`;
    } catch (err) {
      if (err instanceof UnsupportedSchemaError) throw new UnsupportedSchemaError(err.keyword, joinPath(tool.path, err.path), err.reason);
      throw err;
    }
  });
  rules.define("root", calls.join(" | "));
  return rules.toString();
}
