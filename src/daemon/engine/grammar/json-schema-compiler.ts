/**
 * JSON Schema → GBNF (pure): the grammar that makes llama.cpp write only JSON the schema accepts, streaming
 * included. Every keyword is enforced or refused ({@link UnsupportedSchemaError}); see the README's conformance
 * table. Modelled on llama.cpp's json-schema-to-grammar, with these choices:
 * - Objects write required properties first, then optional ones, in `properties` order. When `properties` are
 *   listed and `additionalProperties` is absent, no other keys are written (valid, and a small model otherwise
 *   rambles in keys); other keys are written only when `additionalProperties` is a schema or there are no
 *   `properties`, and never as one of the listed names.
 * - Whitespace is at most one space between tokens, integers at most 16 digits, exponents at most two digits.
 * - `oneOf` needs branches that no value can match twice (different types, or different `const`/`enum` values of a
 *   property all branches require); otherwise it is refused, since "exactly one" cannot be checked while writing.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { alt, literal, repeat, RuleSet } from "./gbnf.js";
import { NUMBER_RULE } from "./number-range.js";
import { childPath, UnsupportedSchemaError } from "./schema-errors.js";
import { disjoint } from "./one-of-disjoint.js";
import { ANNOTATION_KEYWORDS, checkKeywords } from "./schema-keywords.js";
import { mergeAllOf } from "./schema-merge.js";
import { numberGrammar, stringGrammar, type ScalarContext } from "./scalar-grammars.js";
import { TYPES, isObject, numberKeyword, type JsonType, type Schema } from "./schema-shape.js";

const OBJECT_KEYWORDS = ["properties", "required", "additionalProperties", "minProperties", "maxProperties"];
const ARRAY_KEYWORDS = ["items", "prefixItems", "minItems", "maxItems"];
const STRING_KEYWORDS = ["minLength", "maxLength", "pattern", "format"];
const NUMBER_KEYWORDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];

// Checks `enum`/`const` values against their sibling keywords (a pure in-memory validator).
const enumFilter = new Ajv2020({ strict: false, validateSchema: false, addUsedSchema: false, logger: false });

/** The GBNF grammar (root rule `root`) for JSON values `schema` accepts. Throws {@link UnsupportedSchemaError}. */
export function compileJsonSchema(schema: unknown): string {
  const rules = new RuleSet();
  const root = new SchemaCompiler(schema, rules).value();
  rules.define("root", root);
  return rules.toString();
}

/**
 * Compiles one schema document into rules of a shared {@link RuleSet}, so several schemas (the tools of a forced
 * call) can share one grammar. `value()` returns the expression for the document's root value.
 */
export class SchemaCompiler {
  readonly #refRules = new Map<string, string>();
  readonly #scalars: ScalarContext;

  constructor(
    readonly document: unknown,
    readonly rules: RuleSet,
    /** Prefix for rule names, so two documents' `$defs` of the same name stay apart. */
    readonly prefix = "",
  ) {
    this.#scalars = { rules, prefix, rule: (path, body) => this.#rule(path, body), char: () => this.#char() };
  }

  value(): string {
    return this.#value(this.document, "");
  }

  #value(schema: unknown, path: string): string {
    if (schema === true) return this.#any();
    if (schema === false) throw new UnsupportedSchemaError("false", path, "the schema `false` admits no value");
    if (!isObject(schema)) throw new UnsupportedSchemaError("type", path, "a schema must be an object or a boolean");
    checkKeywords(schema, path);
    const constraints = Object.keys(schema).filter((k) => !ANNOTATION_KEYWORDS.has(k) && k !== "$defs" && k !== "definitions" && !k.startsWith("x-"));
    if (constraints.length === 0) return this.#any();

    if (typeof schema.$ref === "string") {
      if (constraints.length === 1) return this.#ref(schema.$ref, path);
      const { $ref, ...rest } = schema;
      return this.#value({ allOf: [this.#resolve($ref as string, path), rest] }, path);
    }
    if (schema.$ref !== undefined) throw new UnsupportedSchemaError("$ref", path, "must be a string");
    if (schema.allOf !== undefined) {
      if (!Array.isArray(schema.allOf) || schema.allOf.length === 0) throw new UnsupportedSchemaError("allOf", path, "must be a non-empty list");
      const { allOf, ...rest } = schema;
      const branches = [rest, ...(allOf as unknown[])].map((b, i) => this.#flatten(b, i === 0 ? path : childPath(childPath(path, "allOf"), i - 1)));
      return this.#value(mergeAllOf(branches, childPath(path, "allOf")), path);
    }
    if (schema.nullable === true) {
      const { nullable, ...rest } = schema;
      return this.#rule(path, alt([this.#value(rest, path), '"null"']));
    }
    for (const union of ["anyOf", "oneOf"] as const) {
      if (schema[union] === undefined) continue;
      const branches = schema[union];
      if (!Array.isArray(branches) || branches.length === 0) throw new UnsupportedSchemaError(union, path, "must be a non-empty list");
      if (schema.anyOf !== undefined && schema.oneOf !== undefined) throw new UnsupportedSchemaError("oneOf", path, "anyOf and oneOf together are not supported");
      const { [union]: _, ...rest } = schema;
      const hasRest = Object.keys(rest).some((k) => !ANNOTATION_KEYWORDS.has(k) && k !== "$defs" && k !== "definitions");
      const unionPath = childPath(path, union);
      const resolved = branches.map((b, i) => (hasRest ? { allOf: [rest, b] } : b) as unknown).map((b, i) => ({ b, p: childPath(unionPath, i) }));
      if (union === "oneOf") this.#checkDisjoint(resolved.map(({ b, p }) => this.#flatten(b, p)), unionPath);
      return this.#rule(path, alt(resolved.map(({ b, p }) => this.#value(b, p))));
    }
    if ("const" in schema || schema.enum !== undefined) return this.#enum(schema, path);
    return this.#typed(schema, path);
  }

  /** A schema object with `$ref`s and `allOf` resolved at its top (for merging and disjointness checks). */
  #flatten(schema: unknown, path: string, depth = 0): Schema {
    if (depth > 32) throw new UnsupportedSchemaError("$ref", path, "references loop without reaching a schema");
    if (schema === true) return {};
    if (!isObject(schema)) throw new UnsupportedSchemaError("allOf", path, "every branch must be a schema object");
    checkKeywords(schema, path);
    if (typeof schema.$ref === "string") {
      const { $ref, ...rest } = schema;
      return this.#flatten({ allOf: [this.#resolve($ref as string, path), rest] }, path, depth + 1);
    }
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema;
      return mergeAllOf([rest, ...allOf.map((b, i) => this.#flatten(b, childPath(childPath(path, "allOf"), i), depth + 1))], path);
    }
    return schema;
  }

  /** The rule for a local reference, named once, so recursive schemas become recursive rules. */
  #ref(ref: string, path: string): string {
    const existing = this.#refRules.get(ref);
    if (existing) return existing;
    const target = this.#resolve(ref, path);
    const name = this.rules.reserve(`${this.prefix}ref-${ref.replace(/^#\/?/, "").split("/").at(-1) || "root"}`);
    this.#refRules.set(ref, name);
    this.rules.define(name, this.#value(target, ref.replace(/^#\/?/, "").replaceAll("/", ".")));
    return name;
  }

  #resolve(ref: string, path: string): unknown {
    if (!ref.startsWith("#")) throw new UnsupportedSchemaError("$ref", path, `only local references (#/...) are supported, not "${ref}"`);
    let target: unknown = this.document;
    for (const raw of ref.slice(1).split("/").slice(1)) {
      const step = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
      target = isObject(target) || Array.isArray(target) ? (target as Record<string, unknown>)[step] : undefined;
      if (target === undefined) throw new UnsupportedSchemaError("$ref", path, `"${ref}" points to nothing`);
    }
    return target;
  }

  #enum(schema: Schema, path: string): string {
    const values = "const" in schema ? [schema.const] : schema.enum;
    const keyword = "const" in schema ? "const" : "enum";
    if (!Array.isArray(values)) throw new UnsupportedSchemaError("enum", path, "must be a list");
    const { const: _c, enum: _e, ...rest } = schema;
    let allowed = values;
    if (Object.keys(rest).some((k) => !ANNOTATION_KEYWORDS.has(k))) {
      if (JSON.stringify(rest).includes('"$ref"')) throw new UnsupportedSchemaError(keyword, path, "enum values next to a $ref are not supported");
      const check = enumFilter.compile(rest);
      allowed = values.filter((v) => check(v));
      enumFilter.removeSchema(rest);
    }
    if (allowed.length === 0) throw new UnsupportedSchemaError(keyword, path, "no listed value matches the other keywords");
    return this.#rule(path, alt(allowed.map((v) => literal(JSON.stringify(v)))));
  }

  #typed(schema: Schema, path: string): string {
    let types: JsonType[];
    if (schema.type === undefined) {
      const has = (keys: string[]) => keys.some((k) => k in schema);
      const inferred: JsonType[] = [];
      if (has(OBJECT_KEYWORDS)) inferred.push("object");
      if (has(ARRAY_KEYWORDS)) inferred.push("array");
      if (has(STRING_KEYWORDS)) inferred.push("string");
      if (has(NUMBER_KEYWORDS)) inferred.push("number");
      types = inferred.length ? inferred : [...TYPES];
    } else {
      const list = Array.isArray(schema.type) ? schema.type : [schema.type];
      for (const t of list) {
        if (!TYPES.includes(t as JsonType)) throw new UnsupportedSchemaError("type", path, `unknown type ${JSON.stringify(t)}`);
      }
      types = [...new Set(list as JsonType[])];
      // integer is part of number: writing both would only duplicate alternatives.
      if (types.includes("number")) types = types.filter((t) => t !== "integer");
    }
    if (types.length === 0) throw new UnsupportedSchemaError("type", path, "an empty type list admits no value");
    return this.#rule(path, alt(types.map((t) => this.#ofType(schema, t, path))));
  }

  #ofType(schema: Schema, type: JsonType, path: string): string {
    switch (type) {
      case "object":
        return this.#object(schema, path);
      case "array":
        return this.#array(schema, path);
      case "string":
        return stringGrammar(this.#scalars, schema, path);
      case "integer":
      case "number":
        return numberGrammar(this.#scalars, schema, type, path);
      case "boolean":
        return this.rules.add("boolean", '"true" | "false"');
      case "null":
        return '"null"';
    }
  }

  #object(schema: Schema, path: string): string {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
    const additional = schema.additionalProperties;
    const names = Object.keys(properties);
    const listed = new Map<string, unknown>();
    for (const name of [...names.filter((n) => required.has(n)), ...required]) {
      if (listed.has(name)) continue;
      if (name in properties) listed.set(name, properties[name]);
      else if (additional === false) throw new UnsupportedSchemaError("required", path, `"${name}" is required but additionalProperties is false`);
      else listed.set(name, additional ?? true);
    }
    for (const name of names) if (!listed.has(name)) listed.set(name, properties[name]);
    const keys = [...listed.keys()];
    const requiredCount = keys.filter((k) => required.has(k)).length;
    const extra = isObject(additional) ? additional : additional === true || (additional === undefined && names.length === 0) ? true : undefined;

    let min = numberKeyword(schema, "minProperties", path) ?? 0;
    let max = numberKeyword(schema, "maxProperties", path);
    if (min > keys.length + (extra !== undefined ? 1 : 0)) {
      throw new UnsupportedSchemaError("minProperties", path, extra !== undefined
        ? "more keys than the listed properties plus one: the grammar cannot keep written keys distinct"
        : "more keys than the object may have");
    }
    if (max !== undefined && requiredCount > max) throw new UnsupportedSchemaError("maxProperties", path, "fewer than the required properties");
    if (min <= requiredCount) min = 0;
    if (max !== undefined && extra === undefined && max >= keys.length) max = undefined;

    const kv = keys.map((key) => {
      const value = this.#value(listed.get(key), childPath(childPath(path, "properties"), key));
      return this.rules.add(`${this.prefix}${key}-kv`, `${literal(JSON.stringify(key))} space ":" space ${value}`);
    });
    this.#space();
    const extraKv = extra === undefined ? undefined : this.rules.add(
      `${this.prefix}extra-kv`,
      `${this.#keyNotIn(keys)} space ":" space ${this.#value(extra, childPath(path, "additionalProperties"))}`,
    );

    // State (i, n): properties from i on are still to be chosen, n are written (capped: past `cap` only "any" matters).
    const cap = max ?? Math.max(min, 1);
    const states = new Map<string, string | null>();
    const state = (i: number, n: number): string | null => {
      const id = `${i},${n}`;
      if (states.has(id)) return states.get(id)!;
      states.set(id, null); // no cycles: i only grows
      let body: string | null;
      if (i === keys.length) body = this.#tail(n, min, max, extraKv);
      else {
        const sep = n > 0 ? '"," space ' : "";
        const next = max !== undefined && n >= max ? null : state(i + 1, Math.min(n + 1, cap));
        const take = next === null ? null : `${sep}${kv[i]}${next === '""' ? "" : ` ${next}`}`;
        const skip = required.has(keys[i]!) ? null : state(i + 1, n);
        const options = [take, skip].filter((o): o is string => o !== null);
        body = options.length ? alt(options) : null;
      }
      const name = body === null ? null : body === '""' || !body.includes(" ") ? body : this.rules.add(`${this.prefix}obj-${i}-${n}`, body);
      states.set(id, name);
      return name;
    };
    const body = state(0, 0);
    if (body === null) throw new UnsupportedSchemaError("minProperties", path, "no object satisfies the property counts");
    return this.#rule(path, `"{" space ${body === '""' ? "" : `${body} `}"}"`);
  }

  /** After the listed properties: extra keys up to the bounds, or nothing. null when the counts cannot be met. */
  #tail(n: number, min: number, max: number | undefined, extraKv: string | undefined): string | null {
    if (!extraKv) return n >= min ? '""' : null;
    const room = max === undefined ? undefined : max - n;
    if (room !== undefined && room <= 0) return n >= min ? '""' : null;
    if (n > 0) return repeat(`"," space ${extraKv}`, Math.max(min - n, 0), room);
    const more = repeat(`"," space ${extraKv}`, 0, room === undefined ? undefined : room - 1);
    const some = more === '""' ? extraKv : `${extraKv} ${more}`;
    return min > 0 ? some : `(${some})?`;
  }

  /** A JSON object key that is none of `names` (and written without escapes, so it cannot spell one in disguise). */
  #keyNotIn(names: readonly string[]): string {
    const plain = "[^\\x22\\x5c\\x00-\\x1f]";
    if (names.length === 0) return this.rules.add("plain-key", `"\\"" ${plain}* "\\""`);
    type Trie = { end: boolean; children: Map<string, Trie> };
    const root: Trie = { end: false, children: new Map() };
    for (const name of names) {
      let node = root;
      for (const ch of name) {
        if (!node.children.has(ch)) node.children.set(ch, { end: false, children: new Map() });
        node = node.children.get(ch)!;
      }
      node.end = true;
    }
    const build = (node: Trie): string => {
      const others = [...node.children.keys()].map((ch) => {
        const cp = ch.codePointAt(0)!;
        return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, "0")}` : cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, "0")}` : `\\U${cp.toString(16).padStart(8, "0")}`;
      });
      const options = [...node.children.entries()].map(([ch, child]) => `${literal(ch)} ${build(child)}`);
      options.push(`[^${others.join("")}\\x22\\x5c\\x00-\\x1f] ${plain}*`);
      const body = alt(options);
      return this.rules.add(`${this.prefix}key-not`, node.end ? body : `(${body})?`);
    };
    return this.rules.add(`${this.prefix}extra-key`, `"\\"" ${build(root)} "\\""`);
  }

  #array(schema: Schema, path: string): string {
    const prefixItems = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    if (schema.prefixItems !== undefined && !Array.isArray(schema.prefixItems)) throw new UnsupportedSchemaError("prefixItems", path, "must be a list");
    if (Array.isArray(schema.items)) throw new UnsupportedSchemaError("items", path, "draft-07 tuples (items as a list) are not supported: use prefixItems");
    const min = numberKeyword(schema, "minItems", path) ?? 0;
    let max = numberKeyword(schema, "maxItems", path);
    if (schema.items === false) max = Math.min(max ?? prefixItems.length, prefixItems.length);
    if (max !== undefined && min > max) throw new UnsupportedSchemaError("minItems", path, "more items than maxItems or the tuple allows");
    this.#space();
    const prefix = prefixItems.map((s, i) => this.#value(s, childPath(childPath(path, "prefixItems"), i)));
    const item = schema.items === false || (max !== undefined && max <= prefix.length) ? undefined : this.#value(schema.items ?? true, childPath(path, "items"));

    // The tuple part, nested so that item i can be left out only when everything after it is too.
    const tail = (): string => {
      if (!item) return '""';
      const low = Math.max(min - prefix.length, 0);
      const high = max === undefined ? undefined : max - prefix.length;
      if (prefix.length > 0) return repeat(`"," space ${item}`, low, high);
      const more = repeat(`"," space ${item}`, Math.max(low - 1, 0), high === undefined ? undefined : high - 1);
      const some = more === '""' ? item : `${item} ${more}`;
      return low > 0 ? some : `(${some})?`;
    };
    let body = tail();
    for (let i = Math.min(prefix.length, max ?? Infinity) - 1; i >= 0; i--) {
      const here = `${i > 0 ? '"," space ' : ""}${prefix[i]}${body === '""' ? "" : ` ${body}`}`;
      body = i >= min ? `(${here})?` : here;
    }
    return this.#rule(path, `"[" space ${body === '""' ? "" : `${body} `}"]"`);
  }

  #checkDisjoint(branches: Schema[], path: string): void {
    for (let i = 0; i < branches.length; i++) {
      for (let j = i + 1; j < branches.length; j++) {
        if (!disjoint(branches[i]!, branches[j]!, (s, p) => this.#flatten(s, p), path)) {
          throw new UnsupportedSchemaError("oneOf", path, `branches ${i} and ${j} may both match one value (use anyOf, or tell them apart by type or by a required const property)`);
        }
      }
    }
  }

  /** A JSON string character: itself, or an escape (no surrogate \u escapes, so lengths count as the validator does). */
  #char(): string {
    return this.rules.add("char", '[^"\\\\\\x00-\\x1f] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))');
  }

  #space(): string {
    return this.rules.has("space") ? "space" : (this.rules.define("space", '" "?'), "space");
  }

  #any(): string {
    if (this.rules.has("any-value")) return "any-value";
    this.#space();
    const char = this.#char();
    const string = this.rules.add("string", `"\\"" ${char}* "\\""`);
    this.rules.reserve("any-value");
    const number = this.rules.add("number", NUMBER_RULE);
    const object = this.rules.add("any-object", `"{" space (${string} space ":" space any-value ("," space ${string} space ":" space any-value)*)? "}"`);
    const array = this.rules.add("any-array", `"[" space (any-value ("," space any-value)*)? "]"`);
    this.rules.define("any-value", `${object} | ${array} | ${string} | ${number} | "true" | "false" | "null"`);
    return "any-value";
  }

  /** Names a compound expression after its schema path (short ones stay inline). */
  #rule(path: string, body: string): string {
    if (/^[A-Za-z0-9-]+$/.test(body) || /^"[^"]*"$/.test(body)) return body;
    return this.rules.add(`${this.prefix}${path.replace(/\[(\d+)\]/g, "-$1").replace(/[^A-Za-z0-9]+/g, "-") || "value"}`, body);
  }
}
