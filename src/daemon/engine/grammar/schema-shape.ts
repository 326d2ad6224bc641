/** The shape of a JSON Schema as the grammar compiler reads it, and keyword readers its parts share. */
import { UnsupportedSchemaError } from "./schema-errors.js";

/** A schema object (boolean schemas are handled before one gets here). */
export type Schema = Record<string, unknown>;
export type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null";

export const TYPES: readonly JsonType[] = ["object", "array", "string", "number", "integer", "boolean", "null"];

/**
 * The most repetitions llama.cpp's grammar parser accepts in one `{m,n}` (its MAX_REPETITION_THRESHOLD); beyond it
 * the grammar is refused when the request runs, so a count above it is refused up front as a 400.
 */
export const MAX_GRAMMAR_REPETITIONS = 2000;

/**
 * A count keyword (`minLength`, `maxItems`, ...): absent, or a non-negative integer up to
 * {@link MAX_GRAMMAR_REPETITIONS}; anything else is refused.
 */
export function numberKeyword(schema: Schema, key: string, path: string): number | undefined {
  const v = schema[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new UnsupportedSchemaError(key, path, "must be a non-negative integer");
  if (v > MAX_GRAMMAR_REPETITIONS) {
    throw new UnsupportedSchemaError(key, path, `${v} is above ${MAX_GRAMMAR_REPETITIONS}, the most repetitions llama.cpp's grammars allow`);
  }
  return v;
}


/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
