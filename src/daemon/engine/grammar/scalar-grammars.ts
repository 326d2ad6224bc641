/** Grammars for string and number schemas: lengths, `pattern`, `format`, bounds and integer `multipleOf`. */
import { alt, literal, repeat, type RuleSet } from "./gbnf.js";
import { INTEGER_RULE, MAX_INTEGER_DIGITS, NUMBER_RULE, integerRange, numberRange, toDecimalBound, type DecimalBound } from "./number-range.js";
import { patternToGbnf } from "./regex-to-gbnf.js";
import { UnsupportedSchemaError } from "./schema-errors.js";
import { ENFORCED_FORMATS } from "./schema-keywords.js";
import { numberKeyword, type Schema } from "./schema-shape.js";
import { FORMAT_PATTERNS, STRING_FORMATS } from "./string-formats.js";

/** Enumerating the multiples in a range is how `multipleOf` is enforced; beyond this many it is refused. */
const MAX_ENUMERATED_MULTIPLES = 256;

/** What the scalar grammars need from the compiler of the whole document. */
export interface ScalarContext {
  readonly rules: RuleSet;
  /** Prefix of the document's rule names. */
  readonly prefix: string;
  /** Names a compound expression after its schema path. */
  rule(path: string, body: string): string;
  /** The rule for one JSON string character. */
  char(): string;
}

/** A JSON string the schema accepts. */
export function stringGrammar(ctx: ScalarContext, schema: Schema, path: string): string {
  const minLength = numberKeyword(schema, "minLength", path);
  const maxLength = numberKeyword(schema, "maxLength", path);
  const hasLength = minLength !== undefined || maxLength !== undefined;
  if (schema.format !== undefined) {
    const format = String(schema.format);
    if (!ENFORCED_FORMATS.has(format)) throw new UnsupportedSchemaError("format", path, `format "${format}" is not supported (supported: ${[...ENFORCED_FORMATS].join(", ")})`);
    if (schema.pattern !== undefined && !FORMAT_PATTERNS[format]?.includes(String(schema.pattern))) {
      throw new UnsupportedSchemaError("pattern", path, "pattern together with format is supported only for the patterns zod 4 writes");
    }
    if (hasLength) throw new UnsupportedSchemaError(minLength !== undefined ? "minLength" : "maxLength", path, "string lengths together with format are not supported");
    return ctx.rules.add(`format-${format}`, `"\\"" ${STRING_FORMATS[format]} "\\""`);
  }
  if (schema.pattern !== undefined) {
    if (hasLength) throw new UnsupportedSchemaError(minLength !== undefined ? "minLength" : "maxLength", path, "string lengths together with pattern are not supported");
    try {
      new RegExp(String(schema.pattern), "u");
      return ctx.rules.add(`${ctx.prefix}pattern`, `"\\"" ${patternToGbnf(String(schema.pattern), ctx.rules)} "\\""`);
    } catch (err) {
      throw new UnsupportedSchemaError("pattern", path, (err as Error).message);
    }
  }
  const char = ctx.char();
  if (!hasLength) return ctx.rules.add("string", `"\\"" ${char}* "\\""`);
  if (maxLength !== undefined && (minLength ?? 0) > maxLength) throw new UnsupportedSchemaError("minLength", path, "greater than maxLength");
  return ctx.rules.add(`string-${minLength ?? 0}-${maxLength ?? "n"}`, `"\\"" ${repeat(char, minLength ?? 0, maxLength)} "\\""`);
}

/** A JSON number (or integer) within the schema's bounds. */
export function numberGrammar(ctx: ScalarContext, schema: Schema, type: "integer" | "number", path: string): string {
  let integer = type === "integer";
  const multipleOf = schema.multipleOf;
  if (multipleOf !== undefined) {
    if (typeof multipleOf !== "number" || !(multipleOf > 0)) throw new UnsupportedSchemaError("multipleOf", path, "must be a positive number");
    if (multipleOf === 1) integer = true;
    else if (!Number.isInteger(multipleOf)) throw new UnsupportedSchemaError("multipleOf", path, "only integer multiples are supported");
  }
  const bound = (key: string) => {
    const v = schema[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) throw new UnsupportedSchemaError(key, path, "must be a finite number (draft-04's boolean form is not supported)");
    return v;
  };
  const [minimum, exclusiveMinimum, maximum, exclusiveMaximum] = ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"].map(bound);
  const bounded = [minimum, exclusiveMinimum, maximum, exclusiveMaximum].some((v) => v !== undefined);
  if (integer || (multipleOf !== undefined && multipleOf !== 1)) {
    // Exclusive and fractional bounds become the nearest integers inside them.
    const lows = [minimum !== undefined ? Math.ceil(minimum) : undefined, exclusiveMinimum !== undefined ? Math.floor(exclusiveMinimum) + 1 : undefined];
    const highs = [maximum !== undefined ? Math.floor(maximum) : undefined, exclusiveMaximum !== undefined ? Math.ceil(exclusiveMaximum) - 1 : undefined];
    const lo = lows.filter((v) => v !== undefined).reduce<number | undefined>((a, b) => (a === undefined ? b : Math.max(a, b!)), undefined);
    const hi = highs.filter((v) => v !== undefined).reduce<number | undefined>((a, b) => (a === undefined ? b : Math.min(a, b!)), undefined);
    if (multipleOf !== undefined && multipleOf !== 1) return multiples(ctx, multipleOf, lo, hi, path);
    if (!bounded) return ctx.rules.add("integer", INTEGER_RULE);
    const body = integerRange(lo === undefined ? undefined : BigInt(lo), hi === undefined ? undefined : BigInt(hi));
    if (!body) throw new UnsupportedSchemaError(minimum !== undefined ? "minimum" : "exclusiveMinimum", path, "no integer lies within the bounds");
    return ctx.rules.add(`${ctx.prefix}int-${lo ?? "n"}-${hi ?? "n"}`, body);
  }
  if (!bounded) return ctx.rules.add("number", NUMBER_RULE);
  const lower = tighter(minimum, exclusiveMinimum, "min", path);
  const upper = tighter(maximum, exclusiveMaximum, "max", path);
  if (!lower && !upper) {
    // Only bounds beyond every 16-digit number, on their open sides. The plain number rule (at most two exponent
    // digits) stays inside them when they are 1e100 or more away; anything nearer needs a bound on the other side.
    const given = [minimum, exclusiveMinimum, maximum, exclusiveMaximum].filter((v) => v !== undefined);
    if (given.every((v) => Math.abs(v) >= 1e100)) return ctx.rules.add("number", NUMBER_RULE);
    throw new UnsupportedSchemaError(minimum !== undefined ? "minimum" : "maximum", path, "a bound beyond 16 digits is enforced only with a bound on the other side");
  }
  const body = numberRange(lower, upper);
  if (!body) throw new UnsupportedSchemaError(lower ? "minimum" : "maximum", path, "no number lies within the bounds, or they have more digits than a double keeps");
  return ctx.rules.add(`${ctx.prefix}num-range`, body);
}

function multiples(ctx: ScalarContext, step: number, lo: number | undefined, hi: number | undefined, path: string): string {
  if (lo === undefined || hi === undefined || (hi - lo) / step > MAX_ENUMERATED_MULTIPLES) {
    throw new UnsupportedSchemaError("multipleOf", path, `enforced only with minimum and maximum at most ${MAX_ENUMERATED_MULTIPLES} multiples apart`);
  }
  const values: string[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) values.push(literal(String(v)));
  if (values.length === 0) throw new UnsupportedSchemaError("multipleOf", path, "no multiple lies within the bounds");
  return ctx.rule(path, alt(values));
}

/** The tighter of an inclusive and an exclusive bound on one side, as a decimal bound. */
function tighter(inclusive: number | undefined, exclusive: number | undefined, side: "min" | "max", path: string): DecimalBound | undefined {
  if (inclusive === undefined && exclusive === undefined) return undefined;
  const useExclusive =
    inclusive === undefined || (exclusive !== undefined && (side === "min" ? exclusive >= inclusive : exclusive <= inclusive));
  const value = useExclusive ? exclusive! : inclusive!;
  const key = side === "min" ? (useExclusive ? "exclusiveMinimum" : "minimum") : useExclusive ? "exclusiveMaximum" : "maximum";
  if (Math.abs(value) >= 10 ** MAX_INTEGER_DIGITS) {
    // Beyond every number a bounded grammar writes (at most 16 integer digits, no exponent): on the open side
    // (`minimum: -1e308`, how JSON.stringify writes -Number.MAX_VALUE) it bounds nothing; on the other, nothing fits.
    const open = side === "min" ? value < 0 : value > 0;
    if (!open) throw new UnsupportedSchemaError(key, path, `no number of at most ${MAX_INTEGER_DIGITS} digits lies beyond it`);
    return undefined;
  }
  const bound = toDecimalBound(value, useExclusive);
  if (!bound) throw new UnsupportedSchemaError(key, path, "a bound needs a plain decimal of at most 20 fraction digits");
  return bound;
}
