/**
 * JSON Schema `pattern` (an ECMAScript regex, matched with search semantics) to a GBNF expression over the JSON
 * text of the string (pure). The subset is llama.cpp's: literals, `.`, classes, `\d\w\s` and their negations,
 * groups (capturing, `(?:`, named), `|`, the quantifiers `* + ? {n} {n,} {n,m}` (lazy or not), `^` at the start and
 * `$` at the end. A pattern without `^` or `$` may have anything before or after the match, as the validator says.
 * Lookarounds, backreferences, `\b` and anchors elsewhere throw {@link PatternError}.
 *
 * The grammar writes JSON text, the regex sees decoded text: `"`, `\` and control characters are written as
 * escapes (`\"`, `\\`, `\n`, `\u001f`), everything else as itself.
 */
import { alt, charClass, literal, repeat, type CodePointRange, type RuleSet } from "./gbnf.js";

/** The pattern uses something outside the supported subset. */
export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatternError";
  }
}

type Node =
  | { k: "alt"; items: Node[] }
  | { k: "seq"; items: Node[] }
  | { k: "set"; ranges: CodePointRange[]; negated: boolean }
  | { k: "repeat"; node: Node; min: number; max: number | undefined }
  | { k: "start" }
  | { k: "end" };

const DIGIT: CodePointRange[] = [{ from: 0x30, to: 0x39 }];
const WORD: CodePointRange[] = [{ from: 0x30, to: 0x39 }, { from: 0x41, to: 0x5a }, { from: 0x5f, to: 0x5f }, { from: 0x61, to: 0x7a }];
// ECMAScript \s.
const SPACE: CodePointRange[] = [
  { from: 0x09, to: 0x0d }, { from: 0x20, to: 0x20 }, { from: 0xa0, to: 0xa0 }, { from: 0x1680, to: 0x1680 },
  { from: 0x2000, to: 0x200a }, { from: 0x2028, to: 0x2029 }, { from: 0x202f, to: 0x202f }, { from: 0x205f, to: 0x205f },
  { from: 0x3000, to: 0x3000 }, { from: 0xfeff, to: 0xfeff },
];
// `.` without the s flag: anything but line terminators.
const LINE_TERMINATORS: CodePointRange[] = [{ from: 0x0a, to: 0x0a }, { from: 0x0d, to: 0x0d }, { from: 0x2028, to: 0x2029 }];
/** Code points JSON text cannot hold as themselves. */
const NEEDS_ESCAPE: CodePointRange[] = [{ from: 0x00, to: 0x1f }, { from: 0x22, to: 0x22 }, { from: 0x5c, to: 0x5c }];
const SHORT_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };

/** The GBNF expression for the JSON string content that `pattern` matches (without the quotes). */
export function patternToGbnf(pattern: string, rules: RuleSet): string {
  const parser = new Parser(pattern);
  const tree = parser.parse();
  const items = tree.k === "seq" ? [...tree.items] : [tree];
  const anchoredStart = items[0]?.k === "start";
  if (anchoredStart) items.shift();
  const anchoredEnd = items.at(-1)?.k === "end";
  if (anchoredEnd) items.pop();
  if (items.some(hasAnchor)) throw new PatternError("^ and $ are supported only at the start and end of the pattern");
  const anything = () => rules.add("pattern-any", repeat(emitSet({ k: "set", ranges: [], negated: true }, rules), 0, undefined));
  const body = items.map((n) => emit(n, rules));
  return [...(anchoredStart ? [] : [anything()]), ...body, ...(anchoredEnd ? [] : [anything()])].join(" ") || '""';
}

function hasAnchor(node: Node): boolean {
  switch (node.k) {
    case "start":
    case "end":
      return true;
    case "alt":
    case "seq":
      return node.items.some(hasAnchor);
    case "repeat":
      return hasAnchor(node.node);
    default:
      return false;
  }
}

function emit(node: Node, rules: RuleSet): string {
  switch (node.k) {
    case "alt":
      return alt(node.items.map((n) => emit(n, rules)));
    case "seq":
      return node.items.length ? `(${node.items.map((n) => emit(n, rules)).join(" ")})` : '""';
    case "set":
      return emitSet(node, rules);
    case "repeat":
      return repeat(emit(node.node, rules), node.min, node.max);
    default:
      throw new PatternError("^ and $ are supported only at the start and end of the pattern");
  }
}

/** A class as JSON text: the code points that stand as themselves, plus escapes for the others it contains. */
function emitSet(node: Extract<Node, { k: "set" }>, rules: RuleSet): string {
  const [only] = node.ranges;
  if (!node.negated && node.ranges.length === 1 && only!.from === only!.to) {
    return literal(escapeFor(only!.from) ?? String.fromCodePoint(only!.from));
  }
  const allowed = (cp: number) => node.negated !== node.ranges.some((r) => cp >= r.from && cp <= r.to);
  const escapes: string[] = [];
  for (const r of NEEDS_ESCAPE) {
    for (let cp = r.from; cp <= r.to; cp++) if (allowed(cp)) escapes.push(literal(escapeFor(cp)!));
  }
  let plain: string | undefined;
  if (node.negated) plain = charClass([...node.ranges, ...NEEDS_ESCAPE], true);
  else {
    const ranges = subtract(node.ranges, NEEDS_ESCAPE);
    if (ranges.length) plain = charClass(ranges);
  }
  const options = [...(plain ? [plain] : []), ...escapes];
  if (options.length === 0) throw new PatternError("a character class in the pattern matches nothing");
  if (options.length === 1) return options[0]!;
  return rules.add("pattern-char", options.join(" | "));
}

/** How JSON text writes `cp`, or undefined when it stands as itself. */
function escapeFor(cp: number): string | undefined {
  if (SHORT_ESCAPES[cp]) return SHORT_ESCAPES[cp];
  return cp < 0x20 ? `\\u${cp.toString(16).padStart(4, "0")}` : undefined;
}

function subtract(ranges: readonly CodePointRange[], minus: readonly CodePointRange[]): CodePointRange[] {
  let out = ranges.map((r) => ({ ...r }));
  for (const m of minus) {
    out = out.flatMap((r) => {
      if (m.to < r.from || m.from > r.to) return [r];
      const pieces: CodePointRange[] = [];
      if (r.from < m.from) pieces.push({ from: r.from, to: m.from - 1 });
      if (r.to > m.to) pieces.push({ from: m.to + 1, to: r.to });
      return pieces;
    });
  }
  return out;
}

class Parser {
  readonly #cps: number[];
  #i = 0;

  constructor(readonly pattern: string) {
    this.#cps = Array.from(pattern, (c) => c.codePointAt(0)!);
  }

  parse(): Node {
    const node = this.#alternation();
    if (this.#i < this.#cps.length) throw new PatternError(`unexpected "${String.fromCodePoint(this.#cps[this.#i]!)}"`);
    return node;
  }

  #peek(): string | undefined {
    const cp = this.#cps[this.#i];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  #next(): string {
    const c = this.#peek();
    if (c === undefined) throw new PatternError("the pattern ends early");
    this.#i++;
    return c;
  }

  #alternation(): Node {
    const items = [this.#sequence()];
    while (this.#peek() === "|") {
      this.#i++;
      items.push(this.#sequence());
    }
    return items.length === 1 ? items[0]! : { k: "alt", items };
  }

  #sequence(): Node {
    const items: Node[] = [];
    for (let c = this.#peek(); c !== undefined && c !== "|" && c !== ")"; c = this.#peek()) {
      items.push(this.#quantified(this.#atom()));
    }
    return items.length === 1 ? items[0]! : { k: "seq", items };
  }

  #quantified(atom: Node): Node {
    let node = atom;
    for (;;) {
      const c = this.#peek();
      let min: number;
      let max: number | undefined;
      if (c === "*") [min, max] = [0, undefined];
      else if (c === "+") [min, max] = [1, undefined];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{" && this.#braceQuantifier()) [min, max] = this.#braces();
      else return node;
      if (c !== "{") this.#i++;
      if (node.k === "start" || node.k === "end") throw new PatternError("an anchor cannot be repeated");
      if (this.#peek() === "?") this.#i++; // lazy: same language
      node = { k: "repeat", node, min, max };
    }
  }

  #braceQuantifier(): boolean {
    return /^\{\d+(,\d*)?\}/.test(String.fromCodePoint(...this.#cps.slice(this.#i, this.#i + 24)));
  }

  #braces(): [number, number | undefined] {
    const rest = String.fromCodePoint(...this.#cps.slice(this.#i, this.#i + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest)!;
    this.#i += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? undefined : Number(m[3]);
    if (max !== undefined && max < min) throw new PatternError(`quantifier ${m[0]} is out of order`);
    return [min, max];
  }

  #atom(): Node {
    const c = this.#next();
    switch (c) {
      case "^":
        return { k: "start" };
      case "$":
        return { k: "end" };
      case ".":
        return { k: "set", ranges: LINE_TERMINATORS, negated: true };
      case "[":
        return this.#class();
      case "(":
        return this.#group();
      case "\\":
        return this.#escape(false);
      case "*":
      case "+":
      case "?":
        throw new PatternError(`nothing to repeat before "${c}"`);
      default:
        return single(c.codePointAt(0)!);
    }
  }

  #group(): Node {
    if (this.#peek() === "?") {
      this.#i++;
      const kind = this.#next();
      if (kind === "<" && this.#peek() !== "=" && this.#peek() !== "!") {
        while (this.#next() !== ">"); // named group: the name does not matter
      } else if (kind !== ":") {
        throw new PatternError("lookarounds and inline flags are not supported");
      }
    }
    const node = this.#alternation();
    if (this.#next() !== ")") throw new PatternError("unbalanced parenthesis");
    return node;
  }

  #class(): Node {
    const negated = this.#peek() === "^";
    if (negated) this.#i++;
    const ranges: CodePointRange[] = [];
    let first = true;
    for (;;) {
      const c = this.#next();
      if (c === "]" && !first) break;
      if (c === "]") break; // `[]` matches nothing; `[^]` anything
      first = false;
      const from = c === "\\" ? this.#escape(true) : single(c.codePointAt(0)!);
      if (from.k === "set" && (from.negated || from.ranges.length !== 1 || from.ranges[0]!.from !== from.ranges[0]!.to)) {
        if (from.negated) throw new PatternError("negated escapes (\\D, \\W, \\S) inside a class are not supported");
        ranges.push(...from.ranges);
        continue;
      }
      const start = (from as Extract<Node, { k: "set" }>).ranges[0]!.from;
      if (this.#peek() === "-" && this.#cps[this.#i + 1] !== undefined && String.fromCodePoint(this.#cps[this.#i + 1]!) !== "]") {
        this.#i++;
        const d = this.#next();
        const to = d === "\\" ? this.#escape(true) : single(d.codePointAt(0)!);
        if (to.k !== "set" || to.negated || to.ranges.length !== 1 || to.ranges[0]!.from !== to.ranges[0]!.to) {
          throw new PatternError("a class range must end in one character");
        }
        const end = to.ranges[0]!.from;
        if (end < start) throw new PatternError("a class range is out of order");
        ranges.push({ from: start, to: end });
      } else {
        ranges.push({ from: start, to: start });
      }
    }
    return { k: "set", ranges, negated };
  }

  #escape(inClass: boolean): Node {
    const c = this.#next();
    switch (c) {
      case "d":
        return { k: "set", ranges: DIGIT, negated: false };
      case "D":
        return { k: "set", ranges: DIGIT, negated: true };
      case "w":
        return { k: "set", ranges: WORD, negated: false };
      case "W":
        return { k: "set", ranges: WORD, negated: true };
      case "s":
        return { k: "set", ranges: SPACE, negated: false };
      case "S":
        return { k: "set", ranges: SPACE, negated: true };
      case "n":
        return single(0x0a);
      case "r":
        return single(0x0d);
      case "t":
        return single(0x09);
      case "f":
        return single(0x0c);
      case "v":
        return single(0x0b);
      case "0":
        return single(0);
      case "b":
        if (inClass) return single(0x08);
        throw new PatternError("word boundaries (\\b) are not supported");
      case "x":
        return single(this.#hex(2));
      case "u":
        if (this.#peek() === "{") {
          this.#i++;
          let hex = "";
          for (let d = this.#next(); d !== "}"; d = this.#next()) hex += d;
          return single(parseHex(hex));
        }
        return single(this.#hex(4));
      default:
        if (/[0-9]/.test(c) || c === "k") throw new PatternError("backreferences are not supported");
        if (/[A-Za-z]/.test(c)) throw new PatternError(`the escape \\${c} is not supported`);
        return single(c.codePointAt(0)!);
    }
  }

  #hex(n: number): number {
    let hex = "";
    for (let i = 0; i < n; i++) hex += this.#next();
    return parseHex(hex);
  }
}

function parseHex(hex: string): number {
  if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) throw new PatternError(`bad hex escape "${hex}"`);
  return parseInt(hex, 16);
}

const single = (cp: number): Extract<Node, { k: "set" }> => ({ k: "set", ranges: [{ from: cp, to: cp }], negated: false });
