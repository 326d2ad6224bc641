/**
 * Structured output through the official clients against a real daemon: the openai SDK's `chat.completions.parse`
 * with a zod schema, Ollama's `format` with the ollama client, forced tool calls streamed as argument deltas, and
 * refusals as 400s naming the keyword's path in each protocol's shape. Schemas here have bounded grammars (no free
 * strings), so even a random-weight model finishes them.
 */
import { expect } from "chai";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { Ollama } from "ollama";
import OpenAI, { BadRequestError } from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { compileValidator } from "../../src/daemon/engine/grammar/schema-validator.js";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

const MODEL = "tiny-structured";
const Reading = z.object({ sensor: z.enum(["a", "b", "c"]), value: z.number().int().min(-20).max(40), ok: z.boolean(), level: z.number().min(0).max(1).nullable() });
const user = (content: string) => [{ role: "user" as const, content }];

async function violations(d: TestDaemon): Promise<number> {
  const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith("mlxm_schema_violations_total{")).reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
}

describe("structured output through the official clients", () => {
  let d: TestDaemon;
  let store: Store;
  let openai: OpenAI;

  before(async () => {
    d = await startTestDaemon();
    store = await Store.open(path.join(d.home, "mlxm.db"));
    await addTestModel(store, MODEL);
    openai = new OpenAI({ baseURL: `${d.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await store?.close();
    await d?.stop();
  });

  it("parses a zod schema's output with the openai SDK's structured-output helper", async () => {
    for (const seed of [1, 2, 3]) {
      const completion = await openai.chat.completions.parse({
        model: MODEL,
        messages: user("reading?"),
        response_format: zodResponseFormat(Reading, "reading"),
        max_tokens: 120,
        seed,
      });
      const choice = completion.choices[0]!;
      expect(choice.finish_reason).to.equal("stop");
      expect(Reading.parse(choice.message.parsed)).to.deep.equal(choice.message.parsed);
    }
  });

  it("enforces Ollama's format schema with the ollama client", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    const schema = { type: "object", properties: { id: { type: "string", format: "uuid" }, n: { type: "integer", exclusiveMinimum: 0, maximum: 9 } }, required: ["id", "n"], additionalProperties: false };
    const check = compileValidator(schema);
    for (const seed of [1, 2]) {
      const response = await ollama.chat({ model: MODEL, messages: user("id?"), format: schema, options: { num_predict: 120, seed } });
      expect(response.done_reason).to.equal("stop");
      expect(check(JSON.parse(response.message.content))).to.deep.equal({ valid: true });
    }
  });

  it("streams a forced tool call's arguments as deltas, like an auto call", async () => {
    const parameters = { type: "object", properties: { city: { enum: ["Paris", "Oslo"] }, days: { type: "integer", minimum: 1, maximum: 14 }, metric: { type: "boolean" } }, required: ["city", "days", "metric"], additionalProperties: false };
    const check = compileValidator(parameters);
    for (const tool_choice of [{ type: "function" as const, function: { name: "forecast" } }, "required" as const]) {
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages: user("weather?"),
        tools: [{ type: "function", function: { name: "forecast", parameters } }, { type: "function", function: { name: "noop", parameters: { type: "object", properties: {}, additionalProperties: false } } }],
        tool_choice,
        max_tokens: 120,
        seed: 4,
        stream: true,
      });
      const names: string[] = [];
      const deltas: string[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        for (const call of choice?.delta.tool_calls ?? []) {
          if (call.function?.name) names.push(call.function.name);
          if (call.function?.arguments) deltas.push(call.function.arguments);
        }
        finish = choice?.finish_reason ?? finish;
      }
      expect(finish).to.equal("tool_calls");
      expect(names).to.have.length(1);
      expect(deltas.length, "arguments arrive in several deltas").to.be.greaterThan(1);
      const args = JSON.parse(deltas.join(""));
      if (names[0] === "forecast") expect(check(args)).to.deep.equal({ valid: true });
      else expect(args).to.deep.equal({});
    }
  });

  it("refuses a keyword it cannot enforce with a 400 naming its path, in OpenAI's and Ollama's shapes", async () => {
    const schema = { type: "object", properties: { xs: { type: "array", items: { type: "integer" }, uniqueItems: true } } };
    try {
      await openai.chat.completions.create({ model: MODEL, messages: user("x"), response_format: { type: "json_schema", json_schema: { name: "s", schema, strict: true } } });
      expect.fail("expected a 400");
    } catch (err) {
      expect(err).to.be.instanceOf(BadRequestError);
      const e = err as BadRequestError;
      expect(e.param).to.equal("response_format.json_schema.schema.properties.xs.uniqueItems");
      expect(e.message).to.contain('"uniqueItems"');
    }
    const res = await fetch(`${d.baseUrl}/api/chat`, { method: "POST", body: JSON.stringify({ model: MODEL, messages: user("x"), format: schema, stream: false }) });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { error: string }).error).to.contain('"uniqueItems" at format.properties.xs');
  });

  it("takes a non-strict auto tool whose schema uses keywords no grammar enforces (MCP tools); refuses a strict one", async () => {
    // What MCP servers declare, which Claude Code passes on: none of these keywords is enforced while generating.
    const mcp = {
      type: "object",
      properties: { tags: { type: "array", items: { type: "string" }, uniqueItems: true }, link: { type: "string", format: "uri-reference" }, env: { type: "object", patternProperties: { "^[A-Z_]+$": { type: "string" } } } },
      required: ["tags"],
    };
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const message = await anthropic.messages.create({ model: MODEL, max_tokens: 8, messages: user("tag it"), tools: [{ name: "tag", input_schema: mcp as Anthropic.Tool.InputSchema }] });
    expect(message.type).to.equal("message");
    expect((await anthropic.messages.countTokens({ model: MODEL, messages: user("tag it"), tools: [{ name: "tag", input_schema: mcp as Anthropic.Tool.InputSchema }] })).input_tokens).to.be.greaterThan(0);
    const chat = await new Ollama({ host: d.baseUrl }).chat({ model: MODEL, messages: user("tag it"), tools: [{ type: "function", function: { name: "tag", parameters: mcp as never } }], options: { num_predict: 8 } });
    expect(chat.done).to.equal(true);
    const plain = await openai.chat.completions.create({ model: MODEL, messages: user("tag it"), max_tokens: 8, tools: [{ type: "function", function: { name: "tag", parameters: mcp } }] });
    expect(plain.choices).to.have.length(1);
    // A strict tool is a contract: enforced or refused, naming the keyword, even when the model calls it on its own.
    const strict = await openai.chat.completions
      .create({ model: MODEL, messages: user("tag it"), max_tokens: 8, tools: [{ type: "function", function: { name: "tag", parameters: mcp, strict: true } }] })
      .then(() => undefined, (e: unknown) => e as BadRequestError);
    expect([strict?.status, strict?.param]).to.deep.equal([400, "tools[0].function.parameters.properties.tags.uniqueItems"]);
    // Forced calls run under mlxm's own grammar: a keyword it cannot enforce is refused whatever `strict` says.
    const forced = await openai.chat.completions
      .create({ model: MODEL, messages: user("tag it"), max_tokens: 8, tool_choice: "required", tools: [{ type: "function", function: { name: "tag", parameters: mcp } }] })
      .then(() => undefined, (e: unknown) => e as BadRequestError);
    expect(forced?.status).to.equal(400);
  });

  it("refuses counts past llama.cpp's grammar limits with a 400, and serves the next request", async () => {
    const absurd = [
      { type: "object", properties: { s: { type: "string", minLength: 1e9 } }, required: ["s"] },
      { type: "object", properties: { xs: { type: "array", items: { type: "integer" }, minItems: 1e6 } }, required: ["xs"] },
      // Within the count limit, but llama.cpp multiplies it by the symbols repeated (separator and item).
      { type: "object", properties: { xs: { type: "array", items: { type: "integer" }, maxItems: 1999 } }, required: ["xs"] },
    ];
    for (const schema of absurd) {
      try {
        await openai.chat.completions.create({ model: MODEL, messages: user("x"), max_tokens: 4, response_format: { type: "json_schema", json_schema: { name: "s", schema } } });
        expect.fail(`expected a 400 for ${JSON.stringify(schema)}`);
      } catch (err) {
        expect(err, JSON.stringify(schema)).to.be.instanceOf(BadRequestError);
      }
    }
    const ok = await openai.chat.completions.create({ model: MODEL, messages: user("x"), max_tokens: 4 });
    expect(ok.choices[0]!.message.content).to.be.a("string");
  });

  it("counted no schema violation", async () => {
    expect(await violations(d)).to.equal(0);
  });
});
