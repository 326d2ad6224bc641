/**
 * Grammars for JSON output. node-llama-cpp's JSON-schema grammar lets numbers carry exponents of up to 16
 * digits, for integers too: a random model writes `-1e999999` for an integer, which parses as -Infinity. The
 * grammar used for generation is therefore patched (integers without exponent, other numbers with at most two
 * exponent digits); node-llama-cpp's own grammar object is kept to validate the parsed result against the schema.
 */
import type { GbnfJsonSchema, Llama, LlamaGrammar, LlamaJsonSchemaGrammar } from "node-llama-cpp";

export interface JsonSchemaGrammar {
  /** What constrains generation. */
  grammar: LlamaGrammar;
  /** Parses generated text and checks it against the schema (throws when it does not match). */
  validator: LlamaJsonSchemaGrammar<GbnfJsonSchema>;
}

// The number rules node-llama-cpp 3.21.1 generates (it is pinned); when they change, the grammar is used unpatched.
const EXPONENT = '([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?';
const INTEGER_RULE = /^(integer-number-rule ::= .*?) \(\[eE\] \[-\+\]\? \("0" \| \[1-9\] \[0-9\]\{0,15\}\)\)\?$/m;

/** Returns node-llama-cpp's grammar text with bounded number rules (unchanged if its format is not recognised). */
export function boundNumberRules(grammar: string): string {
  return grammar.replace(INTEGER_RULE, "$1").split(EXPONENT).join('([eE] [-+]? ("0" | [1-9] [0-9]?))?');
}

export async function createJsonSchemaGrammar(llama: Llama, schema: GbnfJsonSchema): Promise<JsonSchemaGrammar> {
  const validator = await llama.createGrammarForJsonSchema<GbnfJsonSchema>(schema);
  const bounded = boundNumberRules(validator.grammar);
  if (bounded === validator.grammar) return { grammar: validator, validator };
  const grammar = await llama.createGrammar({
    grammar: bounded,
    stopGenerationTriggers: validator.stopGenerationTriggers,
    trimWhitespaceSuffix: validator.trimWhitespaceSuffix,
    rootRuleName: validator.rootRuleName,
  });
  return { grammar, validator };
}
