/**
 * Compiled grammars and validators, cached: a repeated schema costs no compile. Two LRUs: GBNF text and ajv
 * validators by schema hash (model-independent, filled while the request is checked, before it queues), and
 * node-llama-cpp grammar objects by model and schema hash.
 */
import { createHash } from "node:crypto";
import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { badRequest } from "../../errors.js";
import { compileJsonSchema } from "./json-schema-compiler.js";
import { LruCache } from "./lru-cache.js";
import { joinPath, UnsupportedSchemaError } from "./schema-errors.js";
import { compileValidator, type SchemaCheck } from "./schema-validator.js";
import { compileToolCallGrammar } from "./tool-call-grammar.js";

/** How many schemas (and grammars per model) are kept. */
export const SCHEMA_CACHE_SIZE = 256;

/** A schema ready for generation. */
export interface PreparedGrammar {
  hash: string;
  gbnf: string;
  /** Milliseconds spent compiling for this request (0 on a cache hit). */
  compileMs: number;
  cached: boolean;
}

/** A response format's grammar with the check of its output. */
export interface PreparedSchema extends PreparedGrammar {
  check(value: unknown): SchemaCheck;
}

/** A forced tool call's grammar with the check of each tool's arguments. */
export interface PreparedToolCall extends PreparedGrammar {
  checks: ReadonlyMap<string, (value: unknown) => SchemaCheck>;
}

/** A tool as the forced-call grammar needs it. */
export interface ToolInput {
  name: string;
  parameters: unknown;
  /** Where the parameters sit in the request, for errors. */
  path: string;
}

export class SchemaGrammars {
  readonly #schemas = new LruCache<string, { gbnf: string; check: (value: unknown) => SchemaCheck }>(SCHEMA_CACHE_SIZE);
  readonly #tools = new LruCache<string, { gbnf: string; checks: Map<string, (value: unknown) => SchemaCheck> }>(SCHEMA_CACHE_SIZE);
  readonly #grammars = new LruCache<string, Promise<LlamaGrammar>>(SCHEMA_CACHE_SIZE);
  /** Checks of non-strict `auto` tools by schema hash; null: no validator could be built. */
  readonly #loose = new LruCache<string, ((value: unknown) => SchemaCheck) | null>(SCHEMA_CACHE_SIZE);

  /** The grammar for a response format's schema; an unenforceable keyword is a 400 whose param is its path. */
  schema(schema: unknown, param: string): PreparedSchema {
    const hash = refuseAsBadRequest(() => hashOf(["schema", schema]), param);
    const started = performance.now();
    let entry = this.#schemas.get(hash);
    const cached = entry !== undefined;
    if (!entry) {
      const gbnf = refuseAsBadRequest(() => compileJsonSchema(schema), param);
      entry = { gbnf, check: refuseAsBadRequest(() => compileValidator(schema), param) };
      this.#schemas.set(hash, entry);
    }
    return { hash, gbnf: entry.gbnf, check: entry.check, cached, compileMs: cached ? 0 : performance.now() - started };
  }

  /** The grammar for a forced call of one of `tools`. */
  toolCall(tools: readonly ToolInput[]): PreparedToolCall {
    const hash = refuseAsBadRequest(() => hashOf(["tools", tools.map((t) => [t.name, t.parameters])]), "tools");
    const started = performance.now();
    let entry = this.#tools.get(hash);
    const cached = entry !== undefined;
    if (!entry) {
      const gbnf = refuseAsBadRequest(() => compileToolCallGrammar(tools), "");
      const checks = new Map(tools.map((t) => [t.name, refuseAsBadRequest(() => compileValidator(t.parameters ?? {}), t.path)]));
      entry = { gbnf, checks };
      this.#tools.set(hash, entry);
    }
    return { hash, gbnf: entry.gbnf, checks: entry.checks, cached, compileMs: cached ? 0 : performance.now() - started };
  }

  /**
   * Validators for tools the model may call on its own (`auto`). A strict tool's schema must compile, or it is a
   * 400. Any other tool's schema is what the model reads, as OpenAI and Anthropic treat non-strict tools: a keyword
   * the compiler cannot enforce (MCP servers' `uniqueItems`, `patternProperties`, `uri-reference`, …) is checked by
   * ajv after the call, or, where ajv cannot compile it either, not checked.
   */
  toolChecks(tools: readonly (ToolInput & { strict?: boolean })[]): Map<string, (value: unknown) => SchemaCheck> {
    const checks = new Map<string, (value: unknown) => SchemaCheck>();
    for (const t of tools) {
      const check = t.strict ? this.schema(t.parameters ?? {}, t.path).check : this.#looseCheck(t);
      if (check) checks.set(t.name, check);
    }
    return checks;
  }

  /** The compiler's check where it enforces the schema, else ajv's alone, else none; cached like the rest. */
  #looseCheck(tool: ToolInput): ((value: unknown) => SchemaCheck) | undefined {
    const schema = tool.parameters ?? {};
    const hash = refuseAsBadRequest(() => hashOf(["loose", schema]), tool.path);
    const cached = this.#loose.get(hash);
    if (cached !== undefined) return cached ?? undefined;
    let check: ((value: unknown) => SchemaCheck) | null;
    try {
      check = this.schema(schema, tool.path).check;
    } catch {
      try {
        check = compileValidator(schema);
      } catch {
        check = null;
      }
    }
    this.#loose.set(hash, check);
    return check ?? undefined;
  }

  /** node-llama-cpp's grammar object for `prepared` on `model`; adds its creation time to `prepared.compileMs`. */
  async grammar(llama: Llama, model: string, prepared: PreparedGrammar): Promise<LlamaGrammar> {
    const key = `${model}\0${prepared.hash}`;
    let grammar = this.#grammars.get(key);
    if (!grammar) {
      const started = performance.now();
      grammar = llama.createGrammar({ grammar: prepared.gbnf });
      grammar.catch(() => undefined);
      this.#grammars.set(key, grammar);
      try {
        await grammar;
      } catch (err) {
        this.#grammars.delete(key);
        // llama.cpp refuses grammars past its own limits (nested repetitions multiply): the schema is at fault.
        throw badRequest(`the JSON schema's grammar is refused by llama.cpp: ${(err as Error).message}`);
      } finally {
        prepared.compileMs += performance.now() - started;
        prepared.cached = false;
      }
    }
    return grammar;
  }
}

function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

function refuseAsBadRequest<T>(build: () => T, param: string): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof UnsupportedSchemaError) {
      const where = joinPath(param, err.path);
      throw badRequest(`JSON Schema keyword "${err.keyword}" at ${where || "the schema root"} is not enforced: ${err.reason}`, joinPath(where, err.keyword));
    }
    // Hashing and compiling recurse: a schema nested thousands of levels deep runs out of stack, the caller's fault.
    if (err instanceof RangeError && /call stack/i.test(err.message)) throw badRequest("the JSON schema is nested too deeply", param);
    throw badRequest(`the JSON schema cannot be used: ${(err as Error).message}`, param);
  }
}
