/**
 * `allOf` as one schema (pure): bounds take the tighter value, `required` the union, `type` and `enum` the
 * intersection, property schemas that meet become an `allOf` of their own (merged when compiled). Each branch's
 * `additionalProperties` keeps its meaning: a key one branch forbids is dropped from the merge. What cannot be
 * merged exactly (two different patterns, formats, `multipleOf`s or unions) throws.
 */
import { UnsupportedSchemaError } from "./schema-errors.js";
import { ANNOTATION_KEYWORDS } from "./schema-keywords.js";

type Schema = Record<string, unknown>;

const LOWER = ["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"];
const UPPER = ["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"];
const SAME = ["pattern", "format", "multipleOf", "anyOf", "oneOf", "prefixItems"];

/** Merges `branches` (objects, with `$ref`s already resolved) into one schema; `path` names the `allOf`. */
export function mergeAllOf(branches: readonly Schema[], path: string): Schema {
  return branches.reduce((a, b) => mergeTwo(a, b, path), {});
}

function mergeTwo(a: Schema, b: Schema, path: string): Schema {
  const out: Schema = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (ANNOTATION_KEYWORDS.has(key) || key === "$defs" || key === "definitions" || key.startsWith("x-")) continue;
    if (key === "properties" || key === "additionalProperties") continue; // below, together
    const [x, y] = [a[key], b[key]];
    if (x === undefined || y === undefined) {
      out[key] = x ?? y;
      continue;
    }
    if (LOWER.includes(key)) out[key] = Math.max(x as number, y as number);
    else if (UPPER.includes(key)) out[key] = Math.min(x as number, y as number);
    else if (key === "required") out[key] = [...new Set([...(x as string[]), ...(y as string[])])];
    else if (key === "type") out[key] = intersectTypes(x, y, path);
    else if (key === "enum" || key === "const") out[key] = x; // both kept via `enum` below
    else if (key === "nullable") out[key] = x === true && y === true;
    else if (key === "items") out[key] = { allOf: [x, y] };
    else if (SAME.includes(key)) {
      if (JSON.stringify(x) !== JSON.stringify(y)) throw new UnsupportedSchemaError(key, path, `allOf branches give two different "${key}" values`);
      out[key] = x;
    } else throw new UnsupportedSchemaError(key, path, "cannot be merged in allOf");
  }
  const values = [a, b].map(allowedValues).filter((v): v is unknown[] => v !== undefined);
  if (values.length) {
    const [first, ...rest] = values;
    const common = first!.filter((v) => rest.every((r) => r.some((w) => JSON.stringify(w) === JSON.stringify(v))));
    delete out.const;
    out.enum = common;
  }
  mergeObjects(a, b, out, path);
  return out;
}

function allowedValues(s: Schema): unknown[] | undefined {
  if ("const" in s) return [s.const];
  return Array.isArray(s.enum) ? s.enum : undefined;
}

function intersectTypes(x: unknown, y: unknown, path: string): string[] | string {
  const list = (t: unknown) => (Array.isArray(t) ? t.map(String) : [String(t)]);
  const [xs, ys] = [list(x), list(y)];
  const out = new Set<string>();
  for (const t of xs) {
    for (const u of ys) {
      if (t === u) out.add(t);
      else if ((t === "integer" && u === "number") || (t === "number" && u === "integer")) out.add("integer");
    }
  }
  if (out.size === 0) throw new UnsupportedSchemaError("allOf", path, `no value has both type ${JSON.stringify(x)} and ${JSON.stringify(y)}`);
  return out.size === 1 ? [...out][0]! : [...out];
}

/** `properties` and `additionalProperties` of both branches, each keeping its branch's meaning. */
function mergeObjects(a: Schema, b: Schema, out: Schema, path: string): void {
  const props = (s: Schema) => (isObject(s.properties) ? s.properties : {});
  const [pa, pb] = [props(a), props(b)];
  const keys = new Set([...Object.keys(pa), ...Object.keys(pb)]);
  const required = new Set((out.required as string[] | undefined) ?? []);
  if (keys.size) {
    const merged: Schema = {};
    for (const key of keys) {
      const parts = [
        key in pa ? pa[key] : (a.additionalProperties ?? true),
        key in pb ? pb[key] : (b.additionalProperties ?? true),
      ];
      if (parts.includes(false)) {
        if (required.has(key)) throw new UnsupportedSchemaError("allOf", path, `property "${key}" is required by one branch and forbidden by another`);
        continue;
      }
      const constraining = parts.filter((p) => p !== true);
      merged[key] = constraining.length === 0 ? true : constraining.length === 1 ? constraining[0] : { allOf: constraining };
    }
    out.properties = merged;
  }
  const [xa, xb] = [a.additionalProperties, b.additionalProperties];
  if (xa === false || xb === false) out.additionalProperties = false;
  else if (isObject(xa) && isObject(xb)) out.additionalProperties = { allOf: [xa, xb] };
  else if (isObject(xa) || isObject(xb)) out.additionalProperties = isObject(xa) ? xa : xb;
}

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
