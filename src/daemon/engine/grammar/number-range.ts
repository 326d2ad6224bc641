/**
 * Numbers as digit grammars (pure). Integer ranges are exact: `[lo, hi]` becomes alternatives of digit classes per
 * length, as llama.cpp's json-schema-to-grammar does. Bounded non-integers have an integer part from such a range
 * and a fraction, with the edges handled exactly (`x < 3` admits `2.999`, not `3.0`); their bounds may be
 * any decimals written without an exponent. No exponents where there are bounds.
 */
import { alt, literal, repeat } from "./gbnf.js";

/** Integers without bounds are at most this many digits: more loses precision in a double anyway. */
export const MAX_INTEGER_DIGITS = 16;
/**
 * A decimal with at most 15 significant digits converts to the nearest double and back unchanged (DBL_DIG), so a
 * value written below a bound can never round onto it: fractions are shortened to keep within that.
 */
const SIGNIFICANT_DIGITS = 15;

/** One side of a range; `exclusive` for exclusiveMinimum/exclusiveMaximum. */
export interface Bound {
  value: bigint;
  exclusive: boolean;
}

/** An unbounded JSON integer (no exponent, at most {@link MAX_INTEGER_DIGITS} digits). */
export const INTEGER_RULE = `"-"? ("0" | [1-9] [0-9]{0,${MAX_INTEGER_DIGITS - 1}})`;
/** An unbounded JSON number: at most two exponent digits, so a random model cannot write 1e999999 (Infinity). */
export const NUMBER_RULE = `${INTEGER_RULE} ("." [0-9]{1,${SIGNIFICANT_DIGITS}})? ([eE] [-+]? [0-9]{1,2})?`;

/** Integers in `[lo, hi]` (either side open when undefined), or undefined when the range is empty. */
export function integerRange(lo: bigint | undefined, hi: bigint | undefined): string | undefined {
  if (lo !== undefined && hi !== undefined && lo > hi) return undefined;
  const parts: string[] = [];
  if (hi === undefined || hi >= 0n) {
    const part = nonNegativeIntegers(lo !== undefined && lo > 0n ? lo : 0n, hi);
    if (part) parts.push(part);
  }
  if (lo === undefined || lo < 0n) {
    // Negative side as "-" and a magnitude; from 1 so "-0" is never written.
    const part = nonNegativeIntegers(hi !== undefined && hi < 0n ? -hi : 1n, lo === undefined ? undefined : -lo);
    if (part) parts.push(seq(['"-"', part]));
  }
  return parts.length ? alt(parts) : undefined;
}

/** A bound on a decimal: sign, integer part and fraction digits (no trailing zeros). */
export interface DecimalBound {
  negative: boolean;
  int: bigint;
  frac: string;
  exclusive: boolean;
}

/**
 * `value` as a {@link DecimalBound}, or undefined when no plain decimal of at most 20 fraction digits is exactly it
 * (JavaScript writes 1e-7 with an exponent, but 0.0000001 is the same double) or it is too large to write without
 * an exponent (1e21 and up).
 */
export function toDecimalBound(value: number, exclusive: boolean): DecimalBound | undefined {
  let text = String(Math.abs(value));
  if (text.includes("e")) {
    if (Math.abs(value) >= 1) return undefined;
    text = Math.abs(value).toFixed(20).replace(/0+$/, "");
    if (Number(text) !== Math.abs(value)) return undefined;
  }
  const [int, frac = ""] = text.split(".");
  return { negative: value < 0, int: BigInt(int!), frac: frac.replace(/0+$/, ""), exclusive };
}

/** A bound on a magnitude (non-negative): integer part and fraction digits. */
interface Magnitude {
  int: bigint;
  frac: string;
  exclusive: boolean;
}

/**
 * Numbers between `lo` and `hi` (either open when undefined), or undefined when there are none (or the bounds need
 * more fraction digits than a double keeps). Integer parts come from digit ranges; at a bound's integer part the
 * fraction is compared digit by digit (`x >= 2.25` admits `2.3` and `2.251`, not `2.2`).
 */
export function numberRange(lo: DecimalBound | undefined, hi: DecimalBound | undefined): string | undefined {
  const magnitude = [lo, hi].reduce((m, b) => (b ? bigMax(m, b.int) : m), 0n);
  const fractionDigits = SIGNIFICANT_DIGITS - magnitude.toString().length;
  if ([lo, hi].some((b) => b && b.frac.length > fractionDigits)) return undefined;
  const isZero = (b: DecimalBound) => b.int === 0n && b.frac === "";
  const parts: string[] = [];
  // x >= 0: exists unless hi < 0, or hi is an exclusive 0.
  if (!hi || (!hi.negative && !(isZero(hi) && hi.exclusive)) ) {
    const lower: Magnitude = lo && !lo.negative ? lo : { int: 0n, frac: "", exclusive: false };
    const part = nonNegativeNumbers(lower, hi, fractionDigits);
    if (part) parts.push(part);
  }
  if (!lo || (lo.negative && !isZero(lo))) {
    // x = -y with y > 0: x's upper bound is y's lower one.
    const lower: Magnitude = hi && hi.negative && !isZero(hi) ? hi : { int: 0n, frac: "", exclusive: true };
    const part = nonNegativeNumbers(lower, lo, fractionDigits);
    if (part) parts.push(seq(['"-"', part]));
  }
  return parts.length ? alt(parts) : undefined;
}

function nonNegativeNumbers(lower: Magnitude, upper: Magnitude | undefined, digitsLeft: number): string | undefined {
  if (upper && upper.int < lower.int) return undefined;
  const parts: string[] = [];
  const lo = { digits: lower.frac, exclusive: lower.exclusive };
  const hi = upper && { digits: upper.frac, exclusive: upper.exclusive };
  // Integer parts strictly between the bounds' integer parts: any fraction.
  const end = upper ? upper.int - 1n : undefined;
  if (end === undefined || lower.int + 1n <= end) {
    const whole = nonNegativeIntegers(lower.int + 1n, end);
    if (whole) parts.push(seq([whole, withDot(fraction(undefined, undefined, digitsLeft))!]));
  }
  const at = (int: bigint, f: FractionLanguage) => {
    const tail = withDot(f);
    if (tail !== undefined) parts.push(seq([literal(int.toString()), tail]));
  };
  if (upper && upper.int === lower.int) at(lower.int, fraction(lo, hi, digitsLeft));
  else {
    at(lower.int, fraction(lo, undefined, digitsLeft));
    if (upper && upper.int > lower.int) at(upper.int, fraction(undefined, hi, digitsLeft));
  }
  return parts.length ? alt(parts) : undefined;
}

/** Fraction digit strings: whether none at all is allowed, and the non-empty ones (null: none). */
interface FractionLanguage {
  empty: boolean;
  nonEmpty: string | null;
}

type FractionBound = { digits: string; exclusive: boolean } | undefined;

/** `"." digits` for a fraction language, optional when no fraction is allowed; undefined when nothing is. */
function withDot(f: FractionLanguage): string | undefined {
  if (f.nonEmpty === null) return f.empty ? '""' : undefined;
  return f.empty ? `("." ${f.nonEmpty})?` : `"." ${f.nonEmpty}`;
}

/**
 * Fractions F (up to `k` digits) with 0.F above `lo` and below `hi` (each a digit string compared as 0.digits, or
 * undefined for no bound), digit by digit.
 */
function fraction(lo: FractionBound, hi: FractionBound, k: number): FractionLanguage {
  const loEmptyOk = !lo || (lo.digits === "" && !lo.exclusive);
  const hiEmptyOk = !hi || hi.digits !== "" || !hi.exclusive;
  const empty = loEmptyOk && hiEmptyOk;
  if (k <= 0) return { empty, nonEmpty: null };
  if (!lo && !hi) return { empty, nonEmpty: repeat("[0-9]", 1, k) };
  const options: string[] = [];
  let freeFrom: number | undefined;
  const flushFree = (to: number) => {
    if (freeFrom === undefined) return;
    const tail = fraction(undefined, undefined, k - 1);
    options.push(seq([freeFrom === to ? literal(String(freeFrom)) : `[${freeFrom}-${to}]`, optionalTail(tail)!]));
    freeFrom = undefined;
  };
  for (let c = 0; c <= 9; c++) {
    const nextLo = stepLower(lo, c);
    const nextHi = stepUpper(hi, c);
    if (nextLo === "dead" || nextHi === "dead") {
      flushFree(c - 1);
      continue;
    }
    if (nextLo === undefined && nextHi === undefined) {
      freeFrom ??= c;
      continue;
    }
    flushFree(c - 1);
    const tail = optionalTail(fraction(nextLo, nextHi, k - 1));
    if (tail !== undefined) options.push(seq([literal(String(c)), tail]));
  }
  flushFree(9);
  return { empty, nonEmpty: options.length ? alt(options) : null };
}

/** What may follow a digit: the rest of the fraction, possibly nothing; undefined when nothing valid follows. */
function optionalTail(f: FractionLanguage): string | undefined {
  if (f.nonEmpty === null) return f.empty ? '""' : undefined;
  return f.empty ? `(${f.nonEmpty})?` : f.nonEmpty;
}

/** The lower bound after writing digit `c`: satisfied (undefined), still pending, or unreachable. */
function stepLower(lo: FractionBound, c: number): FractionBound | "dead" {
  if (!lo) return undefined;
  if (lo.digits === "") return lo.exclusive && c === 0 ? lo : undefined;
  const d = Number(lo.digits[0]);
  if (c > d) return undefined;
  if (c < d) return "dead";
  return { digits: lo.digits.slice(1), exclusive: lo.exclusive };
}

/** The upper bound after writing digit `c`: satisfied (undefined), still pending, or exceeded. */
function stepUpper(hi: FractionBound, c: number): FractionBound | "dead" {
  if (!hi) return undefined;
  if (hi.digits === "") return c === 0 ? hi : "dead";
  const e = Number(hi.digits[0]);
  if (c < e) return undefined;
  if (c > e) return "dead";
  return { digits: hi.digits.slice(1), exclusive: hi.exclusive };
}

/** Digit strings (no leading zeros) of the integers in `[lo, hi]`, `hi` undefined meaning up to the digit cap. */
function nonNegativeIntegers(lo: bigint, hi: bigint | undefined): string | undefined {
  if (hi !== undefined && lo > hi) return undefined;
  const loDigits = lo.toString().length;
  const parts: string[] = [];
  const lastLength = hi === undefined ? loDigits : hi.toString().length;
  for (let length = loDigits; length <= lastLength; length++) {
    const from = length === loDigits ? lo : 10n ** BigInt(length - 1);
    const to = hi !== undefined && length === lastLength ? hi : 10n ** BigInt(length) - 1n;
    parts.push(sameLength(from.toString(), to.toString()));
  }
  if (hi === undefined) {
    const maxDigits = Math.max(MAX_INTEGER_DIGITS, loDigits);
    if (maxDigits > loDigits) parts.push(seq(["[1-9]", repeat("[0-9]", loDigits, maxDigits - 1)]));
  }
  return alt(parts);
}

/** Digit strings of the same length between `lo` and `hi` (inclusive, lo <= hi). */
function sameLength(lo: string, hi: string): string {
  if (lo === hi) return literal(lo);
  const rest = lo.length - 1;
  const [a, b] = [Number(lo[0]), Number(hi[0])];
  if (/^0*$/.test(lo.slice(1)) && /^9*$/.test(hi.slice(1))) return seq([digits(a, b), repeat("[0-9]", rest, rest)]);
  if (a === b) return seq([literal(lo[0]!), sameLength(lo.slice(1), hi.slice(1))]);
  const parts = [seq([literal(lo[0]!), sameLength(lo.slice(1), "9".repeat(rest))])];
  if (a + 1 <= b - 1) parts.push(seq([digits(a + 1, b - 1), repeat("[0-9]", rest, rest)]));
  parts.push(seq([literal(hi[0]!), sameLength("0".repeat(rest), hi.slice(1))]));
  return alt(parts);
}

const digits = (a: number, b: number) => (a === b ? literal(String(a)) : `[${a}-${b}]`);
const seq = (parts: readonly string[]) => parts.filter((p) => p && p !== '""').join(" ") || '""';
const bigMax = (a: bigint, b: bigint) => (a > b ? a : b);
