/**
 * From a tool's parameters schema to the subset node-llama-cpp's function calling (`tool_choice: auto`) compiles
 * into its own grammar. Pure. Keywords it does not express (pattern, minimum, formats beyond dates, and for a
 * non-strict tool whatever the project's compiler refuses) are left out, which is why `auto` calls are validated
 * against the original schema afterwards. Object schemas that list properties do not invite extra keys (valid either
 * way). `definitions` become `$defs`.
 */
import type { GbnfJsonSchema } from "node-llama-cpp";
import { badRequest } from "../errors.js";

type Json = Record<string, unknown>;
type Out = Record<string, unknown>;

const SCALAR_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const STRING_FORMATS = new Set(["date-time", "time", "date"]);

/** Any JSON value. */
export const ANY_JSON_SCHEMA: GbnfJsonSchema = {
  oneOf: [
    { type: ["string", "number", "boolean", "null"] },
    { type: "object", additionalProperties: true },
    { type: "array" },
  ],
};

/**
 * Converts `schema` for `llama.createGrammarForJsonSchema`. Throws a 400 naming `param` for schemas that are not
 * objects or use a `$ref` that does not point into `$defs`/`definitions`.
 */
export function toGbnfJsonSchema(schema: unknown, param: string): GbnfJsonSchema {
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return ANY_JSON_SCHEMA;
  if (!isObject(schema)) throw badRequest("the JSON schema must be an object", param);
  const defsSource = (schema.$defs ?? schema.definitions) as unknown;
  const converted = convert(schema, param);
  if (!isObject(defsSource) || Object.keys(defsSource).length === 0) return converted as GbnfJsonSchema;
  const defs: Out = {};
  for (const [key, value] of Object.entries(defsSource)) defs[key] = convert(value, `${param}.$defs.${key}`);
  // $defs may sit only on object, array, oneOf and $ref schemas.
  const host = "oneOf" in converted || converted.type === "object" || converted.type === "array" ? converted : { oneOf: [converted] };
  return { ...host, $defs: defs } as GbnfJsonSchema;
}

function convert(schema: unknown, param: string): Out {
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return ANY_JSON_SCHEMA as Out;
  if (!isObject(schema)) throw badRequest(`unsupported JSON schema at ${param}`, param);
  const description = typeof schema.description === "string" ? { description: schema.description } : {};

  if (typeof schema.$ref === "string") {
    const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(schema.$ref);
    if (!match) throw badRequest(`unsupported $ref "${schema.$ref}" (only #/$defs/... refs are supported)`, param);
    return { $ref: `#/$defs/${match[1]}`, ...description };
  }
  if ("const" in schema) return nullable(schema, { const: schema.const, ...description });
  if (Array.isArray(schema.enum)) return nullable(schema, { enum: schema.enum, ...description });
  const alternatives = (schema.oneOf ?? schema.anyOf) as unknown;
  if (Array.isArray(alternatives)) {
    return nullable(schema, { oneOf: alternatives.map((s, i) => convert(s, `${param}.oneOf[${i}]`)), ...description });
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return convert(schema.allOf[0], param);

  const types = typeof schema.type === "string" ? [schema.type] : Array.isArray(schema.type) ? schema.type : undefined;
  if (!types) {
    // No type: infer from the keywords present, else anything.
    if (isObject(schema.properties)) return convertTyped(schema, "object", param, description);
    if ("items" in schema || "prefixItems" in schema) return convertTyped(schema, "array", param, description);
    return ANY_JSON_SCHEMA as Out;
  }
  const unique = [...new Set(types.map(String))];
  if (unique.every((t) => SCALAR_TYPES.has(t)) && !unique.includes("string")) {
    return nullable(schema, { type: unique.length === 1 ? unique[0] : unique, ...description });
  }
  const parts = unique.map((t) => convertTyped(schema, t, param, description));
  return nullable(schema, parts.length === 1 ? parts[0]! : { oneOf: parts, ...description });
}

function convertTyped(schema: Json, type: string, param: string, description: Out): Out {
  switch (type) {
    case "object": {
      const properties = isObject(schema.properties) ? schema.properties : undefined;
      const out: Out = { type: "object", ...description };
      if (properties) {
        out.properties = Object.fromEntries(
          Object.entries(properties).map(([key, value]) => [key, convert(value, `${param}.properties.${key}`)]),
        );
      }
      if (Array.isArray(schema.required)) out.required = schema.required.filter((k) => typeof k === "string");
      const additional = schema.additionalProperties;
      if (isObject(additional)) out.additionalProperties = convert(additional, `${param}.additionalProperties`);
      else out.additionalProperties = typeof additional === "boolean" ? additional && !properties : !properties;
      for (const key of ["minProperties", "maxProperties"] as const) {
        if (typeof schema[key] === "number") out[key] = schema[key];
      }
      return out;
    }
    case "array": {
      const out: Out = { type: "array", ...description };
      if (schema.items !== undefined && schema.items !== true) out.items = convert(schema.items, `${param}.items`);
      if (Array.isArray(schema.prefixItems)) {
        out.prefixItems = schema.prefixItems.map((s, i) => convert(s, `${param}.prefixItems[${i}]`));
      }
      for (const key of ["minItems", "maxItems"] as const) {
        if (typeof schema[key] === "number") out[key] = schema[key];
      }
      return out;
    }
    case "string": {
      const out: Out = { type: "string", ...description };
      if (typeof schema.format === "string" && STRING_FORMATS.has(schema.format)) return { ...out, format: schema.format };
      for (const key of ["minLength", "maxLength"] as const) {
        if (typeof schema[key] === "number") out[key] = schema[key];
      }
      return out;
    }
    case "number":
    case "integer":
    case "boolean":
    case "null":
      return { type, ...description };
    default:
      throw badRequest(`unsupported JSON schema type "${type}"`, param);
  }
}

/** OpenAPI's `nullable: true`. */
function nullable(schema: Json, out: Out): Out {
  return schema.nullable === true ? { oneOf: [out, { type: "null" }] } : out;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
