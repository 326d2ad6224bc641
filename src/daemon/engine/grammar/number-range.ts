/**
 * Numbers as digit grammars (pure). Integer ranges are exact: `[lo, hi]` becomes alternatives of digit classes per
 * length, as llama.cpp's json-schema-to-grammar does. Bounded non-integers have an integer part from such a range
 * and a fraction, with the edges handled exactly (`x < 3` admits `2.999`, not `3.0`); their bounds must be
 * integers. No exponents where there are bounds.
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

/**
 * Numbers between `lo` and `hi` (either open when undefined), or undefined when there are none. A fraction is
 * optional except at an exclusive lower edge (`x > 2`: `2.5` but not `2`).
 */
export function numberRange(lo: Bound | undefined, hi: Bound | undefined): string | undefined {
  const magnitude = [lo, hi].reduce((m, b) => (b ? bigMax(m, b.value < 0n ? -b.value : b.value) : m), 0n);
  const fractionDigits = SIGNIFICANT_DIGITS - magnitude.toString().length;
  const parts: string[] = [];
  if (!hi || hi.value > 0n || (hi.value === 0n && !hi.exclusive)) {
    const lower: Bound = lo && lo.value >= 0n ? lo : { value: 0n, exclusive: false };
    const part = nonNegativeNumbers(lower, hi, fractionDigits);
    if (part) parts.push(part);
  }
  if (!lo || lo.value < 0n) {
    // x = -y: x's upper bound is y's lower one; x ≥ 0 was covered above, so y > 0 at least.
    const lower: Bound = hi && hi.value < 0n ? { value: -hi.value, exclusive: hi.exclusive } : { value: 0n, exclusive: true };
    const upper: Bound | undefined = lo ? { value: -lo.value, exclusive: lo.exclusive } : undefined;
    const part = nonNegativeNumbers(lower, upper, fractionDigits);
    if (part) parts.push(seq(['"-"', part]));
  }
  return parts.length ? alt(parts) : undefined;
}

function nonNegativeNumbers(lower: Bound, upper: Bound | undefined, fractionDigits: number): string | undefined {
  const anyFraction = fractionDigits > 0 ? `("." [0-9]{1,${fractionDigits}})?` : "";
  const nonZeroFraction = fractionDigits > 0 ? `"." ${repeat("[0-9]", 0, fractionDigits - 1)} [1-9]` : undefined;
  const start = lower.exclusive ? lower.value + 1n : lower.value;
  const parts: string[] = [];
  // Integer part strictly below the upper bound: any fraction keeps it below.
  const end = upper ? upper.value - 1n : undefined;
  if (end === undefined || start <= end) {
    const whole = nonNegativeIntegers(start, end);
    if (whole) parts.push(seq([whole, anyFraction]));
  }
  // Exactly the upper bound, when inclusive.
  if (upper && !upper.exclusive && upper.value >= start) parts.push(literal(upper.value.toString()));
  // Just above an exclusive lower bound: the bound with a non-zero fraction.
  if (lower.exclusive && nonZeroFraction && (!upper || lower.value < upper.value)) {
    parts.push(seq([literal(lower.value.toString()), nonZeroFraction]));
  }
  return parts.length ? alt(parts) : undefined;
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
