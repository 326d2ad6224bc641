/**
 * GBNF text building blocks (llama.cpp's grammar format, which node-llama-cpp's `llama.createGrammar` parses) and a
 * rule set that names and de-duplicates rules. Pure. Every character outside [A-Za-z0-9 ] is written as an escape,
 * so no literal or class can be misread by llama.cpp's grammar parser.
 */

/** A GBNF string literal matching exactly `text`. */
export function literal(text: string): string {
  let out = '"';
  for (const ch of text) out += /[A-Za-z0-9 ]/.test(ch) ? ch : escapeCodePoint(ch.codePointAt(0)!);
  return `${out}"`;
}

/** A code-point range for a character class, e.g. `[a-z]` is `range(0x61, 0x7a)`. */
export interface CodePointRange {
  from: number;
  to: number;
}

/** A GBNF character class; `negated` matches every code point outside the ranges. */
export function charClass(ranges: readonly CodePointRange[], negated = false): string {
  const body = ranges
    .map(({ from, to }) => (from === to ? escapeCodePoint(from) : `${escapeCodePoint(from)}-${escapeCodePoint(to)}`))
    .join("");
  return `[${negated ? "^" : ""}${body}]`;
}

function escapeCodePoint(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return String.fromCodePoint(cp);
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

/** `body` repeated between `min` and `max` times (`max` undefined: unbounded), in GBNF's `{m,n}` syntax. */
export function repeat(body: string, min: number, max: number | undefined): string {
  if (max !== undefined && max === 0) return '""';
  const group = isAtom(body) ? body : `(${body})`;
  if (min === 0 && max === undefined) return `${group}*`;
  if (min === 1 && max === undefined) return `${group}+`;
  if (min === 0 && max === 1) return `${group}?`;
  if (max === undefined) return `${group}{${min},}`;
  if (min === max) return min === 1 ? group : `${group}{${min}}`;
  return `${group}{${min},${max}}`;
}

// A rule name, one class or one literal: classes and literals escape "]" and '"', so these patterns are exact.
const isAtom = (body: string) => /^[A-Za-z0-9-]+$|^\[[^\]]*\]$|^"[^"]*"$/.test(body);

/** Alternatives as one GBNF expression. */
export function alt(options: readonly string[]): string {
  const unique = [...new Set(options)];
  return unique.length === 1 ? unique[0]! : `(${unique.join(" | ")})`;
}

/**
 * Named rules. `add` returns the name of a rule with that body, reusing an existing rule with the same body;
 * `reserve` names a rule before its body is known (recursive `$ref`s), `define` fills it in.
 */
export class RuleSet {
  readonly #rules = new Map<string, string>();
  readonly #byBody = new Map<string, string>();

  add(hint: string, body: string): string {
    const existing = this.#byBody.get(body);
    if (existing) return existing;
    const name = this.reserve(hint);
    this.define(name, body);
    return name;
  }

  reserve(hint: string): string {
    const base = hint.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "r";
    let name = base;
    for (let i = 2; this.#rules.has(name); i++) name = `${base}-${i}`;
    this.#rules.set(name, "");
    return name;
  }

  define(name: string, body: string): void {
    this.#rules.set(name, body);
    if (!this.#byBody.has(body)) this.#byBody.set(body, name);
  }

  has(name: string): boolean {
    return this.#rules.has(name);
  }

  /** The grammar text, `root` first. */
  toString(): string {
    const lines: string[] = [];
    const root = this.#rules.get("root");
    if (root !== undefined) lines.push(`root ::= ${root}`);
    for (const [name, body] of this.#rules) if (name !== "root") lines.push(`${name} ::= ${body}`);
    return `${lines.join("\n")}\n`;
  }
}
