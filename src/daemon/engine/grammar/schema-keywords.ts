/**
 * Which JSON Schema keywords the compiler enforces, which it accepts as annotations, and the check that refuses
 * the rest (pure). A schema is never loosened silently: a keyword not listed here is a 400 naming it.
 */
import { UnsupportedSchemaError } from "./schema-errors.js";

/** Keywords that do not constrain values: accepted and ignored. `discriminator` is OpenAPI's hint for `oneOf`. */
export const ANNOTATION_KEYWORDS: ReadonlySet<string> = new Set([
  "title", "description", "examples", "example", "default", "$schema", "$id", "$comment", "$anchor", "deprecated",
  "readOnly", "writeOnly", "discriminator", "contentMediaType", "contentEncoding",
]);

/** Keywords the grammar enforces while generating. */
export const ENFORCED_KEYWORDS: ReadonlySet<string> = new Set([
  "type", "enum", "const", "nullable",
  "properties", "required", "additionalProperties", "minProperties", "maxProperties",
  "items", "prefixItems", "minItems", "maxItems",
  "minLength", "maxLength", "pattern", "format",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "propertyNames",
]);

/** Why some well-known keywords are refused (the README's conformance table says the same). */
const REFUSAL_REASONS: Record<string, string> = {
  not: "a grammar cannot express negation",
  if: "conditional schemas are not supported",
  then: "conditional schemas are not supported",
  else: "conditional schemas are not supported",
  uniqueItems: "a grammar cannot keep array items distinct",
  contains: "not supported",
  minContains: "not supported",
  maxContains: "not supported",
  patternProperties: "not supported",
  dependentRequired: "not supported",
  dependentSchemas: "not supported",
  dependencies: "not supported",
  unevaluatedProperties: "not supported",
  unevaluatedItems: "not supported",
  additionalItems: "draft-07 tuples are not supported: use prefixItems and items",
  $dynamicRef: "not supported",
  $recursiveRef: "not supported",
};

/** The string formats the grammar writes (see string-formats.ts). */
export const ENFORCED_FORMATS: ReadonlySet<string> = new Set(["date", "time", "date-time", "uuid", "email", "ipv4", "uri"]);

/**
 * Throws for the first keyword of `schema` that is neither enforced nor an annotation. `x-…` extensions pass, and
 * `propertyNames` only in the form zod writes for records (`{"type": "string"}`), which every key satisfies.
 */
export function checkKeywords(schema: Record<string, unknown>, path: string): void {
  for (const key of Object.keys(schema)) {
    if (key === "propertyNames") {
      const names = schema.propertyNames;
      const trivial = names === true || (typeof names === "object" && names !== null && Object.keys(names).every((k) => k === "type" || ANNOTATION_KEYWORDS.has(k)) && [undefined, "string"].includes((names as { type?: string }).type));
      if (!trivial) throw new UnsupportedSchemaError(key, path, 'only {"type": "string"} is supported');
      continue;
    }
    if (ENFORCED_KEYWORDS.has(key) || ANNOTATION_KEYWORDS.has(key) || key.startsWith("x-")) continue;
    throw new UnsupportedSchemaError(key, path, REFUSAL_REASONS[key] ?? "unknown or unsupported keyword");
  }
}
