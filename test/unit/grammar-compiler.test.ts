/**
 * The JSON Schema → GBNF compiler, checked exactly: compiled grammars (turned into regular expressions by a test
 * helper) must admit precisely the integers of a range, only numbers inside bounds, only strings ajv accepts for a
 * format or pattern; keywords the compiler cannot enforce are refused with their path.
 */
import { expect } from "chai";
import fc from "fast-check";
import { z } from "zod";
import { compileJsonSchema } from "../../src/daemon/engine/grammar/json-schema-compiler.js";
import { ForcedCallStream } from "../../src/daemon/engine/grammar/forced-call-stream.js";
import { integerRange, numberRange, toDecimalBound } from "../../src/daemon/engine/grammar/number-range.js";
import { UnsupportedSchemaError } from "../../src/daemon/engine/grammar/schema-errors.js";
import { compileValidator } from "../../src/daemon/engine/grammar/schema-validator.js";
import { compileToolCallGrammar } from "../../src/daemon/engine/grammar/tool-call-grammar.js";
import { gbnfToRegExp } from "../helpers/gbnf-regex.js";

const regexOf = (expr: string) => gbnfToRegExp(`root ::= ${expr}`);

/** Strings the grammar of `schema` admits (sampled), each of which the validator must accept. */
function assertSound(schema: unknown, runs = 60): void {
  const grammar = gbnfToRegExp(compileJsonSchema(schema));
  const check = compileValidator(schema);
  fc.assert(
    fc.property(fc.stringMatching(grammar), (text) => {
      const result = check(JSON.parse(text));
      if (!result.valid) throw new Error(`${text}: ${result.error}`);
    }),
    { numRuns: runs, seed: 42 },
  );
}

function refusal(schema: unknown): { keyword: string; path: string } {
  try {
    compileJsonSchema(schema);
  } catch (err) {
    expect(err).to.be.instanceOf(UnsupportedSchemaError);
    const { keyword, path } = err as UnsupportedSchemaError;
    return { keyword, path };
  }
  throw new Error("expected a refusal");
}

describe("JSON Schema grammar compiler", () => {
  describe("integer ranges", () => {
    it("admit exactly the integers in [lo, hi]", () => {
      fc.assert(
        fc.property(fc.option(fc.integer({ min: -1500, max: 1500 })), fc.option(fc.integer({ min: -1500, max: 1500 })), (lo, hi) => {
          const expr = integerRange(lo === null ? undefined : BigInt(lo), hi === null ? undefined : BigInt(hi));
          if (lo !== null && hi !== null && lo > hi) {
            expect(expr).to.equal(undefined);
            return;
          }
          const re = regexOf(expr!);
          const from = (lo ?? hi ?? 0) - 40;
          const to = (hi ?? lo ?? 0) + 40;
          for (let v = from; v <= to; v++) {
            const inside = (lo === null || v >= lo) && (hi === null || v <= hi);
            expect(re.test(String(v)), `${v} in [${lo}, ${hi}]`).to.equal(inside);
          }
          expect(re.test("-0")).to.equal(false);
          expect(re.test("007")).to.equal(false);
        }),
        { numRuns: 150, seed: 7 },
      );
    });

    it("handle zod's safe-integer bounds", () => {
      const re = regexOf(integerRange(-9007199254740991n, 9007199254740991n)!);
      for (const ok of ["0", "-9007199254740991", "9007199254740991", "9007199254740990", "123"]) expect(re.test(ok), ok).to.equal(true);
      for (const bad of ["9007199254740992", "-9007199254740992", "10000000000000000", "1e3"]) expect(re.test(bad), bad).to.equal(false);
    });
  });

  describe("number ranges", () => {
    it("admit only numbers inside decimal bounds, inclusive or exclusive, and every canonical one", () => {
      const decimal = fc
        .tuple(fc.boolean(), fc.integer({ min: 0, max: 60 }), fc.option(fc.stringMatching(/^[0-9]{1,4}$/)))
        .map(([neg, i, f]) => `${neg ? "-" : ""}${i}${f === null ? "" : `.${f}`}`);
      const bound = fc.option(fc.record({ value: fc.oneof(fc.integer({ min: -30, max: 30 }), fc.integer({ min: -3000, max: 3000 }).map((v) => v / 100)), exclusive: fc.boolean() }));
      fc.assert(
        fc.property(bound, bound, fc.array(decimal, { minLength: 40, maxLength: 40 }), (lo, hi, samples) => {
          const expr = numberRange(lo ? toDecimalBound(lo.value, lo.exclusive) : undefined, hi ? toDecimalBound(hi.value, hi.exclusive) : undefined);
          if (!expr) return;
          const re = regexOf(expr);
          for (const text of samples) {
            const v = Number(text);
            const inside = (!lo || (lo.exclusive ? v > lo.value : v >= lo.value)) && (!hi || (hi.exclusive ? v < hi.value : v <= hi.value));
            if (re.test(text)) expect(inside, `${text} admitted by ${JSON.stringify([lo, hi])}`).to.equal(true);
            else if (inside && !/^-0(\.0*)?$/.test(text) && !/\.\d*0$/.test(text) && !/^-?0\d/.test(text)) {
              // Canonical forms inside the range must be admitted (the grammar never writes trailing zeros or -0).
              expect.fail(`${text} refused by ${JSON.stringify([lo, hi])}`);
            }
          }
        }),
        { numRuns: 200, seed: 11 },
      );
    });
  });

  describe("soundness against ajv", () => {
    // [name, schema, sampled outputs]. Exclusive and fractional bounds are checked exactly above: their nested
    // grammars make fast-check's regex sampling slow.
    const schemas: [string, unknown, number?][] = [
      ["formats", { type: "object", properties: { d: { type: "string", format: "date" }, t: { type: "string", format: "time" }, dt: { type: "string", format: "date-time" }, u: { type: "string", format: "uuid" }, e: { type: "string", format: "email" }, ip: { type: "string", format: "ipv4" }, uri: { type: "string", format: "uri" } }, required: ["d", "t", "dt", "u", "e", "ip", "uri"] }],
      ["patterns", { type: "array", prefixItems: [{ type: "string", pattern: "^[A-Z]{2}-\\d{3}$" }, { type: "string", pattern: "a.c" }, { type: "string", pattern: "^(foo|ba[rz])+\\.?$" }, { type: "string", pattern: '^["\\\\]\\w*$' }, { type: "string", pattern: "^[^a-c]{1,3}$" }], items: false, minItems: 5 }],
      ["lengths", { type: "object", properties: { s: { type: "string", minLength: 2, maxLength: 4 } }, required: ["s"], additionalProperties: false }],
      ["bounded numbers", { type: "array", items: { anyOf: [{ type: "number", minimum: 0, maximum: 1 }, { type: "integer", minimum: 5.5, maximum: 20, multipleOf: 5 }] } }],
      ["property counts", { type: "object", properties: { a: { type: "integer" }, b: { type: "boolean" }, c: { type: "null" } }, minProperties: 2, maxProperties: 2 }],
      ["extra keys", { type: "object", properties: { a: { type: "integer" } }, additionalProperties: { type: "string" }, minProperties: 1 }],
      ["map", { type: "object", additionalProperties: { type: "integer", minimum: 0 }, maxProperties: 3 }],
      ["enum and const", { anyOf: [{ enum: ["x", 1, null, { k: [true] }] }, { const: "c" }, { type: "string", enum: ["a", 2, "bb"], maxLength: 1 }] }],
      ["allOf", { allOf: [{ type: "object", properties: { a: { type: "integer" } }, required: ["a"] }, { properties: { a: { minimum: 3 }, b: { type: "string" } }, additionalProperties: false }] }],
      ["oneOf by discriminator", { oneOf: [{ type: "object", properties: { kind: { const: "a" }, x: { type: "integer" } }, required: ["kind"] }, { type: "object", properties: { kind: { const: "b" } }, required: ["kind"] }] }],
      ["nullable and type lists", { type: "object", properties: { n: { type: "integer", nullable: true }, m: { type: ["string", "null", "boolean"], maxLength: 2 } }, required: ["n", "m"] }],
      ["tuples", { type: "array", prefixItems: [{ type: "integer" }, { type: "string" }], items: { type: "boolean" }, minItems: 1, maxItems: 4 }],
      ["$ref with siblings and definitions", { definitions: { pos: { type: "integer", minimum: 1 } }, type: "object", properties: { p: { $ref: "#/definitions/pos", maximum: 9 } }, required: ["p"] }],
    ];
    for (const [name, schema, runs] of schemas) it(`admits only valid JSON: ${name}`, () => assertSound(schema, runs));

    it("admits only valid JSON for the format + pattern pairs zod 4 writes (tracking the installed zod)", () => {
      for (const s of [z.iso.date(), z.iso.datetime(), z.email(), z.uuid(), z.guid(), z.ipv4(), z.url()]) assertSound(z.toJSONSchema(s), 40);
    });

    it("writes URLs of the usual shapes for format uri (Claude Code's WebFetch url, zod's url())", () => {
      const re = gbnfToRegExp(compileJsonSchema({ type: "string", format: "uri" }));
      for (const ok of ['"https://example.com"', '"http://localhost:8080/a/b?q=1&r=%20x#frag"', '"https://docs.anthropic.com/en/docs/"', '"ftp://a.b.c/x;y"']) {
        expect(re.test(ok), ok).to.equal(true);
      }
      for (const bad of ['"example.com"', '"https://"', '"https://exa mple.com"', '"https://a.com/\\""']) expect(re.test(bad), bad).to.equal(false);
    });

    it("never writes a listed property name as an extra key", () => {
      const re = gbnfToRegExp(compileJsonSchema({ type: "object", properties: { ab: { type: "integer" } }, additionalProperties: { type: "string" } }));
      expect(re.test('{"ab":1,"abc":"x"}')).to.equal(true);
      expect(re.test('{"ab":1,"ab":"x"}')).to.equal(false);
      expect(re.test('{"a":"x"}')).to.equal(true);
      expect(re.test('{"ab":"x"}')).to.equal(false);
    });
  });

  it("takes bounds JavaScript writes with an exponent: tiny ones exactly, huge ones as no bound on their open side", () => {
    const wide = gbnfToRegExp(compileJsonSchema({ type: "number", minimum: -1.7976931348623157e308, maximum: 10 }));
    for (const ok of ["5", "-123", "10", "-9999999999999999"]) expect(wide.test(ok), ok).to.equal(true);
    expect(wide.test("11")).to.equal(false);
    const tiny = gbnfToRegExp(compileJsonSchema({ type: "number", minimum: 1e-7, maximum: 1 }));
    for (const ok of ["0.5", "0.0000001", "1"]) expect(tiny.test(ok), ok).to.equal(true);
    for (const no of ["0", "0.00000009"]) expect(tiny.test(no), no).to.equal(false);
    // Only bounds that far away: the plain number rule, which never reaches them.
    expect(compileJsonSchema({ type: "number", minimum: -1.7976931348623157e308, maximum: 1.7976931348623157e308 })).to.contain("root ::= number");
  });

  describe("refusals", () => {
    const cases: [string, unknown, string, string][] = [
      ["uniqueItems", { type: "object", properties: { tags: { type: "array", uniqueItems: true } } }, "uniqueItems", "properties.tags"],
      ["not", { not: { type: "string" } }, "not", ""],
      ["unknown formats", { type: "string", format: "uri-reference" }, "format", ""],
      ["fractional multipleOf", { type: "number", multipleOf: 0.01 }, "multipleOf", ""],
      ["unbounded multipleOf", { type: "integer", multipleOf: 3 }, "multipleOf", ""],
      ["bounds finer than 20 decimals", { type: "number", minimum: 1e-25 }, "minimum", ""],
      ["a minimum beyond every 16-digit number", { type: "number", minimum: 1e20 }, "minimum", ""],
      ["patterns with lookarounds", { type: "string", pattern: "^(?=a)a$" }, "pattern", ""],
      ["backreferences", { type: "string", pattern: "(a)\\1" }, "pattern", ""],
      ["length with pattern", { type: "string", pattern: "^a+$", maxLength: 3 }, "maxLength", ""],
      ["remote refs", { $ref: "https://example.com/s.json" }, "$ref", ""],
      ["overlapping oneOf", { oneOf: [{ type: "number" }, { type: "integer" }] }, "oneOf", "oneOf"],
      ["unsatisfiable required", { type: "object", required: ["a"], additionalProperties: false }, "required", ""],
      ["draft-07 tuples", { type: "array", items: [{ type: "string" }] }, "items", ""],
      ["nested in $defs", { $defs: { x: { type: "object", patternProperties: { "^a": {} } } }, properties: { x: { $ref: "#/$defs/x" } } }, "patternProperties", "$defs.x"],
      ["keys beyond what can be kept distinct", { type: "object", additionalProperties: true, minProperties: 2 }, "minProperties", ""],
    ];
    for (const [name, schema, keyword, path] of cases) {
      it(`refuses ${name}, naming the keyword and its path`, () => expect(refusal(schema)).to.deep.equal({ keyword, path }));
    }

    it("accepts annotations and x- extensions", () => {
      expect(() => compileJsonSchema({ $schema: "https://json-schema.org/draft/2020-12/schema", $id: "x", title: "t", description: "d", examples: [1], default: 1, "x-order": 1, type: "integer" })).not.to.throw();
    });
  });

  describe("forced tool calls", () => {
    it("admit exactly one call of a listed tool with valid arguments", () => {
      const re = gbnfToRegExp(compileToolCallGrammar([
        { name: "get", parameters: { type: "object", properties: { id: { type: "integer", minimum: 1 } }, required: ["id"] }, path: "tools[0]" },
        { name: "put", parameters: { type: "object", properties: {}, additionalProperties: false }, path: "tools[1]" },
      ]));
      expect(re.test('{"name":"get","arguments":{"id":3}}')).to.equal(true);
      expect(re.test('{"name":"put","arguments":{ }}')).to.equal(true);
      expect(re.test('{"name":"get","arguments":{"id":0}}')).to.equal(false);
      expect(re.test('{"name":"del","arguments":{}}')).to.equal(false);
    });

    it("streams the name, then every argument character but the wrapper's closing brace", () => {
      const stream = new ForcedCallStream();
      const text = '{"name":"get","arguments":{"id":3,"s":"}"}}';
      const pieces = [...text].flatMap((ch) => stream.push(ch));
      expect(pieces[0]).to.deep.equal({ type: "start", name: "get" });
      const args = pieces.slice(1).map((p) => (p.type === "arguments" ? p.delta : "")).join("");
      expect(args).to.equal('{"id":3,"s":"}"}');
      expect(stream.arguments()).to.equal(args);
      const cut = new ForcedCallStream();
      expect(cut.push('{"name":"ge')).to.deep.equal([]);
      expect(cut.arguments()).to.equal(undefined);
      expect(cut.rest()).to.equal("");
    });

    it("tells a complete call from one whose arguments end in a brace, and gives back what an unfinished one held", () => {
      const open = new ForcedCallStream();
      open.push('{"name":"get","arguments":{"a":{"b":1}');
      expect(open.arguments(), "the last brace is the arguments', not the wrapper's").to.equal(undefined);
      expect(open.rest()).to.equal("}");
      expect(open.rest()).to.equal("");
      const whole = new ForcedCallStream();
      whole.push('{"name":"get","arguments":{"a":{"b":1}}}');
      expect(whole.arguments()).to.equal('{"a":{"b":1}}');
      expect(whole.rest(), "the held brace is the wrapper's").to.equal("");
      const scalar = new ForcedCallStream();
      expect(scalar.push('{"name":"n","arguments":12')).to.deep.equal([{ type: "start", name: "n" }, { type: "arguments", delta: "1" }]);
      expect(scalar.rest()).to.equal("2");
    });
  });
});
