/**
 * Whether two `oneOf` branches can never match the same value: "exactly one" cannot be checked while writing, so
 * the compiler accepts `oneOf` only when its branches are disjoint by type, by `const`/`enum`, or by a `const`
 * property every branch requires.
 */
import { TYPES, isObject, type Schema } from "./schema-shape.js";

/** Whether no value can match both schemas (conservative: false when unsure). */
export function disjoint(a: Schema, b: Schema, flatten: (s: unknown, path: string) => Schema, path: string): boolean {
  const ta = possibleTypes(a);
  const tb = possibleTypes(b);
  if (![...ta].some((t) => tb.has(t))) return true;
  const va = constValues(a);
  const vb = constValues(b);
  if (va && vb) return !va.some((v) => vb.includes(v));
  if (ta.size === 1 && tb.size === 1 && ta.has("object") && tb.has("object")) {
    const req = (s: Schema) => new Set(Array.isArray(s.required) ? s.required.map(String) : []);
    const [ra, rb] = [req(a), req(b)];
    const pa = isObject(a.properties) ? a.properties : {};
    const pb = isObject(b.properties) ? b.properties : {};
    for (const key of ra) {
      if (!rb.has(key) || !(key in pa) || !(key in pb)) continue;
      const ca = constValues(flatten(pa[key], path));
      const cb = constValues(flatten(pb[key], path));
      if (ca && cb && !ca.some((v) => cb.includes(v))) return true;
    }
  }
  return false;
}

/** JSON types a schema may produce (integer folded into number, for overlap checks). */
function possibleTypes(s: Schema): Set<string> {
  const values = "const" in s ? [s.const] : Array.isArray(s.enum) ? s.enum : undefined;
  if (values) return new Set(values.map((v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v === "boolean" ? "boolean" : typeof v)));
  const types = s.type === undefined ? TYPES : Array.isArray(s.type) ? s.type : [s.type];
  const out = new Set(types.map((t) => (t === "integer" ? "number" : String(t))));
  if (s.nullable === true) out.add("null");
  return out;
}

/** The JSON texts a `const` or `enum` allows, or undefined when neither is given. */
function constValues(s: Schema): string[] | undefined {
  if ("const" in s) return [JSON.stringify(s.const)];
  return Array.isArray(s.enum) ? s.enum.map((v) => JSON.stringify(v)) : undefined;
}
