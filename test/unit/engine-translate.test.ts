import { expect } from "chai";
import { toChatHistory } from "../../src/daemon/engine/chat-history.js";
import { SchemaGrammars } from "../../src/daemon/engine/grammar/schema-grammars.js";
import { ANY_JSON_SCHEMA, toGbnfJsonSchema } from "../../src/daemon/engine/json-schema.js";
import { forContextSize, toFinishReason, toLlamaSampling } from "../../src/daemon/engine/sampling.js";
import { QueueAbortedError, QueueFullError, SlotQueue } from "../../src/daemon/engine/slot-queue.js";
import { ANSWER_FUNCTION, newToolCallId, toolMode } from "../../src/daemon/engine/tool-calls.js";
import type { HttpError } from "../../src/daemon/errors.js";

function badParam(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect((err as HttpError).code).to.equal("bad_request");
    return (err as HttpError).param;
  }
  throw new Error("expected a bad_request");
}

describe("engine translators", () => {
  describe("toChatHistory", () => {
    it("maps roles and ends with an empty model turn to generate", () => {
      const { history, prefill } = toChatHistory([
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
        { role: "user", content: "Again" },
      ]);
      expect(prefill).to.equal(false);
      expect(history).to.deep.equal([
        { type: "system", text: "Be brief." },
        { type: "user", text: "Hi" },
        { type: "model", response: ["Hello"] },
        { type: "user", text: "Again" },
        { type: "model", response: [] },
      ]);
    });

    it("attaches tool results to their calls and continues that model turn", () => {
      const { history } = toChatHistory([
        { role: "user", content: "Weather?" },
        { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"paris"}' }] },
        { role: "tool", content: '{"sky":"clear"}', toolCallId: "call_1" },
        { role: "assistant", content: "It is clear." },
      ]);
      expect(history).to.deep.equal([
        { type: "user", text: "Weather?" },
        {
          type: "model",
          response: [{ type: "functionCall", name: "get_weather", params: { city: "paris" }, result: { sky: "clear" } }, "It is clear."],
        },
      ]);
    });

    it("continues after tool results, treats a trailing assistant text as a prefill, keeps stray results", () => {
      const afterTools = toChatHistory([
        { role: "user", content: "Weather?" },
        { role: "assistant", content: "", toolCalls: [{ id: "c", name: "w", arguments: "not json" }] },
        { role: "tool", content: "sunny", toolCallId: "c" },
      ]);
      expect(afterTools.history.at(-1)).to.deep.equal({
        type: "model",
        response: [{ type: "functionCall", name: "w", params: "not json", result: "sunny" }],
      });
      expect(afterTools.prefill).to.equal(false);

      const prefilled = toChatHistory([
        { role: "user", content: "Count" },
        { role: "assistant", content: "1, 2," },
      ]);
      expect(prefilled.prefill).to.equal(true);
      expect(prefilled.history.at(-1)).to.deep.equal({ type: "model", response: ["1, 2,"] });

      const stray = toChatHistory([{ role: "tool", content: "42", toolCallId: "unknown", name: "calc" }]);
      expect(stray.history[0]).to.deep.equal({ type: "user", text: "Tool result of calc: 42" });
    });

    it("adds extra system text to the first system message, or as one", () => {
      expect(toChatHistory([{ role: "system", content: "A" }], "B").history[0]).to.deep.equal({ type: "system", text: "A\n\nB" });
      expect(toChatHistory([{ role: "user", content: "x" }], "B").history[0]).to.deep.equal({ type: "system", text: "B" });
    });
  });

  describe("toGbnfJsonSchema", () => {
    it("keeps what the grammar supports and drops what it cannot express", () => {
      const converted = toGbnfJsonSchema(
        {
          $schema: "https://json-schema.org/draft/2020-12/schema",
          type: "object",
          properties: {
            name: { type: "string", pattern: "^a", maxLength: 5, description: "who" },
            age: { type: "integer", minimum: 0 },
            tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 3 },
            maybe: { type: ["string", "null"] },
            when: { type: "string", format: "date" },
            ref: { $ref: "#/definitions/Thing" },
          },
          required: ["name"],
        },
        "schema",
      );
      expect(converted).to.deep.equal({
        type: "object",
        properties: {
          name: { type: "string", description: "who", maxLength: 5 },
          age: { type: "integer" },
          tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 3 },
          maybe: { oneOf: [{ type: "string" }, { type: "null" }] },
          when: { type: "string", format: "date" },
          ref: { $ref: "#/$defs/Thing" },
        },
        required: ["name"],
        additionalProperties: false,
      });
    });

    it("moves definitions to $defs, maps anyOf and nullable, and treats {} as any JSON", () => {
      expect(toGbnfJsonSchema({}, "p")).to.equal(ANY_JSON_SCHEMA);
      expect(toGbnfJsonSchema({ anyOf: [{ type: "number" }, { type: "boolean" }] }, "p")).to.deep.equal({
        oneOf: [{ type: "number" }, { type: "boolean" }],
      });
      expect(toGbnfJsonSchema({ type: "integer", nullable: true }, "p")).to.deep.equal({ oneOf: [{ type: "integer" }, { type: "null" }] });
      expect(toGbnfJsonSchema({ type: "string", definitions: { X: { type: "number" } } }, "p")).to.deep.equal({
        oneOf: [{ type: "string" }],
        $defs: { X: { type: "number" } },
      });
      expect(toGbnfJsonSchema({ type: "object" }, "p")).to.deep.equal({ type: "object", additionalProperties: true });
    });

    it("rejects what it cannot use with a 400 naming the parameter", () => {
      expect(badParam(() => toGbnfJsonSchema("nope", "response_format"))).to.equal("response_format");
      expect(badParam(() => toGbnfJsonSchema({ $ref: "http://example.com/s.json" }, "p"))).to.equal("p");
      expect(badParam(() => toGbnfJsonSchema({ type: "tuple" }, "p"))).to.equal("p");
    });
  });

  describe("sampling", () => {
    it("fills Ollama's defaults and maps penalties and stop strings", () => {
      expect(toLlamaSampling({})).to.deep.equal({ temperature: 0.8, topK: 40, topP: 0.9, repeatPenalty: false });
      expect(
        toLlamaSampling({ temperature: 0, topP: 1, topK: 0, minP: 0.05, seed: -1, stop: ["\n", ""], frequencyPenalty: 0.5 }),
      ).to.deep.equal({
        temperature: 0,
        topK: 0,
        topP: 1,
        minP: 0.05,
        seed: 4294967295,
        repeatPenalty: { penalty: 1, frequencyPenalty: 0.5, presencePenalty: undefined },
        stop: ["\n"],
      });
    });

    it("maps repeat_last_n to the penalties' window: 0 turns them off, -1 is the context size", () => {
      const penalty = (s: Parameters<typeof toLlamaSampling>[0]) => toLlamaSampling(s).repeatPenalty;
      expect(penalty({ repeatPenalty: 1.3, repeatLastN: 16 })).to.deep.equal({ penalty: 1.3, frequencyPenalty: undefined, presencePenalty: undefined, lastTokens: 16 });
      expect(penalty({ repeatPenalty: 1.3, presencePenalty: 0.5, repeatLastN: 0 })).to.equal(false);
      // Without a penalty, a window changes nothing.
      expect(penalty({ repeatLastN: 16 })).to.equal(false);
      const whole = toLlamaSampling({ frequencyPenalty: 0.5, repeatLastN: -1 });
      expect(forContextSize(whole, 2048).repeatPenalty).to.deep.equal({ penalty: 1, frequencyPenalty: 0.5, presencePenalty: undefined, lastTokens: 2048 });
      const sixteen = toLlamaSampling({ frequencyPenalty: 0.5, repeatLastN: 16 });
      expect(forContextSize(sixteen, 2048)).to.equal(sixteen);
      for (const bad of [-2, 1.5, Number.NaN]) expect(badParam(() => toLlamaSampling({ repeatPenalty: 1.1, repeatLastN: bad })), String(bad)).to.equal("repeat_last_n");
    });

    it("rejects out-of-range values with the parameter's name", () => {
      expect(badParam(() => toLlamaSampling({ temperature: -1 }))).to.equal("temperature");
      expect(badParam(() => toLlamaSampling({ topP: 2 }))).to.equal("top_p");
      expect(badParam(() => toLlamaSampling({ maxTokens: 0 }))).to.equal("max_tokens");
      expect(badParam(() => toLlamaSampling({ maxTokens: 1.5 }))).to.equal("max_tokens");
    });

    it("maps stop reasons to finish reasons", () => {
      expect(["eogToken", "stopGenerationTrigger", "customStopTrigger", "maxTokens", "functionCalls", "abort"].map(toFinishReason)).to.deep.equal([
        "stop",
        "stop",
        "stop",
        "length",
        "tool_calls",
        "cancelled",
      ]);
    });
  });

  describe("tool modes", () => {
    const tools = [
      { name: "a", description: "does a", parameters: { type: "object", properties: { x: { type: "integer" } }, required: ["x"] } },
      { name: "b", parameters: {} },
    ];

    it("uses native function calling for auto, a forcing grammar for required and named tools", () => {
      const grammars = new SchemaGrammars();
      expect(toolMode(undefined, undefined, grammars)).to.deep.equal({ kind: "none" });
      expect(toolMode(tools, { type: "none" }, grammars)).to.deep.equal({ kind: "none" });
      const auto = toolMode(tools, { type: "auto" }, grammars);
      expect(auto.kind).to.equal("auto");
      if (auto.kind === "auto") {
        expect(Object.keys(auto.functions)).to.deep.equal(["a", "b"]);
        expect(auto.checks.get("a")!({ x: 1 })).to.deep.equal({ valid: true });
        expect(auto.checks.get("a")!({ x: 1.5 }).valid).to.equal(false);
      }

      const named = toolMode(tools, { type: "tool", name: "a" }, grammars);
      expect(named.kind).to.equal("forced");
      if (named.kind !== "forced") return;
      expect(named.grammar.gbnf.split("\n")[0]).to.equal(String.raw`root ::= "\x7b\x22name\x22\x3a\x22a\x22\x2c\x22arguments\x22\x3a" t0-value "}"`);
      expect([...named.grammar.checks.keys()]).to.deep.equal(["a"]);
      expect(named.instructions).to.contain('the tool "a"');
      const required = toolMode(tools, { type: "required" }, grammars);
      if (required.kind === "forced") expect([...required.grammar.checks.keys()]).to.deep.equal(["a", "b"]);
    });

    it("runs auto tools with a response format as a forced call of a tool or of the answer function", () => {
      const grammars = new SchemaGrammars();
      const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };
      const format = { type: "json_schema" as const, name: "verdict", schema };
      for (const choice of [undefined, { type: "auto" as const }]) {
        const mode = toolMode(tools, choice, grammars, format);
        expect(mode.kind).to.equal("forced");
        if (mode.kind !== "forced") return;
        expect(mode.answer).to.equal(ANSWER_FUNCTION);
        expect(mode.tools.map((t) => t.name)).to.deep.equal(["a", "b"]);
        expect([...mode.grammar.checks.keys()]).to.deep.equal(["a", "b", ANSWER_FUNCTION]);
        expect(mode.grammar.checks.get(ANSWER_FUNCTION)!({ ok: true })).to.deep.equal({ valid: true });
        expect(mode.grammar.checks.get(ANSWER_FUNCTION)!({ ok: 1 }).valid).to.equal(false);
        expect(mode.instructions).to.contain(`give your final answer by calling "${ANSWER_FUNCTION}"`);
        expect(mode.instructions).to.contain(`- ${ANSWER_FUNCTION}: Your final answer (verdict), when no tool is needed`);
        expect(mode.instructions).to.contain(JSON.stringify(schema));
      }
      // json_object: any object is an answer.
      const json = toolMode(tools, undefined, grammars, { type: "json_object" });
      if (json.kind !== "forced") return expect.fail("forced");
      expect(json.grammar.checks.get(ANSWER_FUNCTION)!({ x: [1] })).to.deep.equal({ valid: true });
      expect(json.grammar.checks.get(ANSWER_FUNCTION)!([1]).valid).to.equal(false);
      // A text format, required, a named tool and none keep their modes.
      expect(toolMode(tools, undefined, grammars, { type: "text" }).kind).to.equal("auto");
      const required = toolMode(tools, { type: "required" }, grammars, format);
      expect(required.kind === "forced" && required.answer).to.equal(undefined);
      expect(toolMode(tools, { type: "none" }, grammars, format)).to.deep.equal({ kind: "none" });
    });

    it("names the answer function apart from the caller's tools, and refuses its schema where the caller wrote it", () => {
      const grammars = new SchemaGrammars();
      const format = { type: "json_schema" as const, schema: { type: "object" } };
      const taken = [
        { name: ANSWER_FUNCTION, parameters: { type: "object" } },
        { name: `${ANSWER_FUNCTION}_2`, parameters: { type: "object" } },
      ];
      const mode = toolMode(taken, undefined, grammars, format);
      expect(mode.kind === "forced" && mode.answer).to.equal(`${ANSWER_FUNCTION}_3`);
      const unique = { type: "object", properties: { xs: { type: "array", uniqueItems: true } } };
      expect(badParam(() => toolMode(tools, undefined, grammars, { type: "json_schema", schema: unique }))).to.equal(
        "response_format.json_schema.schema.properties.xs.uniqueItems",
      );
      expect(badParam(() => toolMode(tools, undefined, grammars, { type: "json_schema", schema: unique, param: "format" }))).to.equal("format.properties.xs.uniqueItems");
    });

    it("rejects a tool_choice naming an unknown tool, or with no tools, and parameters it cannot enforce", () => {
      const grammars = new SchemaGrammars();
      expect(badParam(() => toolMode(tools, { type: "tool", name: "zzz" }, grammars))).to.equal("tool_choice");
      expect(badParam(() => toolMode([], { type: "required" }, grammars))).to.equal("tool_choice");
      const twice = [...tools, { name: "a", parameters: { type: "object" } }];
      expect(badParam(() => toolMode(twice, { type: "auto" }, grammars))).to.equal("tools[2].function.name");
      const spaced = [{ name: "has spaces & $ymbols", parameters: { type: "object", properties: {} } }];
      expect(badParam(() => toolMode(spaced, { type: "auto" }, grammars))).to.equal("tools[0].function.name");
      const scalar = [{ name: "s", parameters: { type: "string" } }];
      expect(badParam(() => toolMode(scalar, { type: "auto" }, grammars))).to.equal("tools[0].function.parameters");
      expect(badParam(() => toolMode([{ ...scalar[0]!, parametersPath: "tools[0].input_schema" }], undefined, grammars))).to.equal("tools[0].input_schema");
      const unique = [{ name: "u", parameters: { type: "object", properties: { xs: { type: "array", uniqueItems: true } } } }];
      // Forced calls run under mlxm's grammar, and a strict tool is a contract: both refuse what it cannot enforce.
      for (const [choice, strict] of [[{ type: "required" as const }, false], [{ type: "auto" as const }, true]] as const) {
        expect(badParam(() => toolMode(unique.map((t) => ({ ...t, strict })), choice, grammars))).to.equal("tools[0].function.parameters.properties.xs.uniqueItems");
      }
      // A non-strict tool the model calls on its own is held to its structure only, whatever keywords it has.
      expect(toolMode(unique, { type: "auto" }, grammars).kind).to.equal("auto");
    });

    it("makes OpenAI-style call ids", () => {
      expect(newToolCallId()).to.match(/^call_[A-Za-z0-9_-]{16}$/);
      expect(newToolCallId()).not.to.equal(newToolCallId());
    });
  });

  describe("SlotQueue", () => {
    it("admits up to its slots, queues FIFO up to maxQueue, refuses beyond, and drops aborted waiters", async () => {
      const queue = new SlotQueue(1, 2);
      const first = await queue.acquire();
      const order: number[] = [];
      const controller = new AbortController();
      const second = queue.acquire().then((r) => (order.push(2), r));
      const aborted = queue.acquire(controller.signal);
      try {
        await queue.acquire();
        expect.fail("the queue is full");
      } catch (err) {
        expect(err).to.be.instanceOf(QueueFullError);
      }
      controller.abort();
      try {
        await aborted;
        expect.fail("aborted");
      } catch (err) {
        expect(err).to.be.instanceOf(QueueAbortedError);
      }
      expect(queue.queued).to.equal(1);
      const third = queue.acquire().then((r) => (order.push(3), r));
      first();
      first(); // idempotent
      (await second)();
      (await third)();
      expect(order).to.deep.equal([2, 3]);
      expect(queue.idle).to.equal(true);
      expect(queue.retryAfterSeconds()).to.be.at.least(1);
    });
  });
});
