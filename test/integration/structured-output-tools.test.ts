/**
 * Tools the model may call on its own (`tool_choice` "auto" or absent) together with a response format, on a local
 * model: the Vercel AI SDK's `generateText({tools, output})` pattern. The model either calls a tool (returned as a
 * tool call) or gives its final answer (returned as content in the format, finish reason "stop"), through the
 * official openai, ollama and Anthropic clients, streamed or not; mlxm's own answer function never reaches them.
 *
 * How the tiny random-weight model picks: greedy decoding decides at the first character of the call's name, where
 * the weights rank the first letter of the tool's name against that of the answer function. So the tests try tool
 * names with different first letters until both outcomes have come back, and check each outcome's shape; which
 * letters give which is the model's business and not asserted.
 */
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import path from "node:path";
import { Ollama, type ChatResponse } from "ollama";
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { compileValidator } from "../../src/daemon/engine/grammar/schema-validator.js";
import { ANSWER_FUNCTION } from "../../src/daemon/engine/tool-calls.js";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

const MODEL = "tiny-answer-or-call";
const user = (content: string) => [{ role: "user" as const, content }];
/** Bounded grammars (no free strings), so even a random-weight model finishes them within the token budget. */
const Answer = z.object({ ok: z.boolean(), n: z.number().int().min(0).max(9) });
const Lookup = z.object({ city: z.enum(["Paris", "Oslo"]) });
const answerSchema = { type: "object", properties: { ok: { type: "boolean" }, n: { type: "integer", minimum: 0, maximum: 9 } }, required: ["ok", "n"], additionalProperties: false };
const lookupSchema = { type: "object", properties: { city: { enum: ["Paris", "Oslo"] } }, required: ["city"], additionalProperties: false };
const answerValid = compileValidator(answerSchema);
const lookupValid = compileValidator(lookupSchema);
/** Tool names to try, one per first letter. */
const NAMES = [..."abcdeghijklmnopqrstuvwxyz"].map((c) => `${c}_lookup`);
const SAMPLING = { temperature: 0, max_tokens: 120 };

type Kind = "call" | "answer";

/** Calls `ask` with tool names from {@link NAMES} until both kinds of outcome came back; returns the kinds seen. */
async function bothOutcomes(ask: (name: string) => Promise<Kind>): Promise<Set<Kind>> {
  const seen = new Set<Kind>();
  for (const name of NAMES) {
    seen.add(await ask(name));
    if (seen.size === 2) break;
  }
  return seen;
}

describe("auto tools with a response format on a local model", () => {
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

  it("returns a tool call or the parsed answer with the openai SDK's parse helper", async () => {
    const seen = await bothOutcomes(async (name) => {
      const completion = await openai.chat.completions.parse({
        model: MODEL,
        messages: user("Is it warm in Paris?"),
        tools: [zodFunction({ name, parameters: Lookup })],
        response_format: zodResponseFormat(Answer, "answer"),
        ...SAMPLING,
      });
      expect(JSON.stringify(completion)).not.to.contain(ANSWER_FUNCTION);
      const choice = completion.choices[0]!;
      const calls = choice.message.tool_calls ?? [];
      if (choice.finish_reason === "tool_calls") {
        expect(calls).to.have.length(1);
        expect(calls[0]!.function.name).to.equal(name);
        expect(Lookup.parse(calls[0]!.function.parsed_arguments)).to.deep.equal(calls[0]!.function.parsed_arguments);
        expect(choice.message.content ?? "").to.equal("");
        return "call";
      }
      expect(choice.finish_reason).to.equal("stop");
      expect(calls).to.deep.equal([]);
      expect(answerValid(JSON.parse(choice.message.content!))).to.deep.equal({ valid: true });
      expect(Answer.parse(choice.message.parsed)).to.deep.equal(choice.message.parsed);
      expect(completion.usage!.completion_tokens).to.be.greaterThan(0);
      return "answer";
    });
    expect([...seen].sort()).to.deep.equal(["answer", "call"]);
  });

  it("streams a tool call as tool-call deltas, and the answer as content deltas before the finish chunk", async () => {
    const seen = await bothOutcomes(async (name) => {
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages: user("Is it warm in Paris?"),
        tools: [{ type: "function", function: { name, parameters: lookupSchema } }],
        tool_choice: "auto",
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: answerSchema } },
        stream: true,
        ...SAMPLING,
      });
      const content: string[] = [];
      const names: string[] = [];
      const args: string[] = [];
      let finish: string | null = null;
      let afterFinish = 0;
      for await (const chunk of stream) {
        expect(JSON.stringify(chunk)).not.to.contain(ANSWER_FUNCTION);
        const choice = chunk.choices[0];
        if (!choice) continue;
        if (finish !== null && (choice.delta.content || choice.delta.tool_calls)) afterFinish++;
        if (choice.delta.content) content.push(choice.delta.content);
        for (const call of choice.delta.tool_calls ?? []) {
          if (call.function?.name) names.push(call.function.name);
          if (call.function?.arguments) args.push(call.function.arguments);
        }
        finish = choice.finish_reason ?? finish;
      }
      expect(afterFinish).to.equal(0);
      if (finish === "tool_calls") {
        expect(names).to.deep.equal([name]);
        expect(lookupValid(JSON.parse(args.join("")))).to.deep.equal({ valid: true });
        expect(content.join("")).to.equal("");
        return "call";
      }
      expect(finish).to.equal("stop");
      expect(names).to.deep.equal([]);
      expect(content.length, "the answer arrives in several deltas").to.be.greaterThan(1);
      expect(answerValid(JSON.parse(content.join("")))).to.deep.equal({ valid: true });
      return "answer";
    });
    expect([...seen].sort()).to.deep.equal(["answer", "call"]);
  });

  it("does the same on Ollama's /api/chat with format and tools, streamed or not", async () => {
    const ollama = new Ollama({ host: d.baseUrl });
    for (const stream of [false, true]) {
      const seen = await bothOutcomes(async (name) => {
        const request = {
          model: MODEL,
          messages: user("Is it warm in Paris?"),
          tools: [{ type: "function", function: { name, parameters: lookupSchema } }],
          format: answerSchema,
          options: { temperature: 0, num_predict: 120 },
        };
        const parts: ChatResponse[] = [];
        if (stream) for await (const part of await ollama.chat({ ...request, stream: true })) parts.push(part);
        else parts.push(await ollama.chat({ ...request, stream: false }));
        expect(JSON.stringify(parts)).not.to.contain(ANSWER_FUNCTION);
        const last = parts.at(-1)!;
        expect(last.done).to.equal(true);
        expect(last.done_reason).to.equal("stop");
        const content = parts.map((p) => p.message.content).join("");
        const calls = parts.flatMap((p) => p.message.tool_calls ?? []);
        if (calls.length) {
          expect(calls.map((c) => c.function.name)).to.deep.equal([name]);
          expect(lookupValid(calls[0]!.function.arguments)).to.deep.equal({ valid: true });
          expect(content).to.equal("");
          return "call";
        }
        if (stream) expect(parts.filter((p) => p.message.content).length, "the answer arrives in several lines").to.be.greaterThan(1);
        expect(answerValid(JSON.parse(content))).to.deep.equal({ valid: true });
        return "answer";
      });
      expect([...seen].sort(), stream ? "streamed" : "not streamed").to.deep.equal(["answer", "call"]);
    }
  });

  it("answers Anthropic's output_config format with tools as a text block or a tool_use block", async () => {
    const anthropic = new Anthropic({ baseURL: d.baseUrl, apiKey: "unused", maxRetries: 0 });
    const seen = await bothOutcomes(async (name) => {
      const params: Anthropic.MessageCreateParamsNonStreaming = {
        model: MODEL,
        max_tokens: 120,
        messages: user("Is it warm in Paris?"),
        tools: [{ name, input_schema: lookupSchema as Anthropic.Tool.InputSchema }],
        output_config: { format: { type: "json_schema", schema: answerSchema } },
      };
      // Greedy, as in the other tests (this SDK's types no longer list temperature; the API takes it).
      const message = await anthropic.messages.create({ ...params, temperature: 0 } as Anthropic.MessageCreateParamsNonStreaming);
      expect(JSON.stringify(message)).not.to.contain(ANSWER_FUNCTION);
      if (message.stop_reason === "tool_use") {
        expect(message.content.map((b) => (b.type === "tool_use" ? b.name : b.type))).to.deep.equal([name]);
        return "call";
      }
      expect(message.stop_reason).to.equal("end_turn");
      expect(message.content.map((b) => b.type)).to.deep.equal(["text"]);
      const text = message.content[0]!.type === "text" ? message.content[0]!.text : "";
      expect(answerValid(JSON.parse(text))).to.deep.equal({ valid: true });
      return "answer";
    });
    expect([...seen].sort()).to.deep.equal(["answer", "call"]);
  });

  it("ends an answer cut by max_tokens or a stop string with what was generated of it, never the call wrapper", async () => {
    const ask = (name: string, extra: { max_tokens?: number; stop?: string }) =>
      openai.chat.completions.create({
        model: MODEL,
        messages: user("Is it warm in Paris?"),
        tools: [{ type: "function", function: { name, parameters: lookupSchema } }],
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: answerSchema } },
        ...SAMPLING,
        ...extra,
      });
    let full: OpenAI.ChatCompletion | undefined;
    let name = "";
    for (name of NAMES) {
      full = await ask(name, {});
      if (full.choices[0]!.finish_reason === "stop") break;
    }
    const answer = full!.choices[0]!.message.content!;
    expect(answerValid(JSON.parse(answer))).to.deep.equal({ valid: true });
    // The full generation ends with the answer's `}`, the wrapper's `}` and the end of the turn, one token each. One
    // token short, the call is whole; two short, the wrapper is open and the answer's last brace (held back as possibly
    // the wrapper's) still comes out. Either way the content is the whole answer and no more.
    for (const missing of [1, 2]) {
      const short = (await ask(name, { max_tokens: full!.usage!.completion_tokens - missing })).choices[0]!;
      expect([short.finish_reason, short.message.content], `${missing} short`).to.deep.equal(["length", answer]);
    }
    // Stop strings apply to the answer, as they do to a response format without tools.
    const stop = answer.slice(answer.indexOf(":"), answer.indexOf(":") + 2);
    const stopped = (await ask(name, { stop })).choices[0]!;
    expect([stopped.finish_reason, stopped.message.content]).to.deep.equal(["stop", answer.slice(0, answer.indexOf(stop))]);
  });

  it("keeps a tool of the caller's named like the answer function a tool", async () => {
    for (const stream of [false, true]) {
      const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: ANSWER_FUNCTION, parameters: lookupSchema } }];
      const response_format = { type: "json_schema" as const, json_schema: { name: "answer", schema: answerSchema } };
      const body = { model: MODEL, messages: user("Is it warm in Paris?"), tools, response_format, ...SAMPLING };
      let content = "";
      const names: string[] = [];
      if (stream) {
        for await (const chunk of await openai.chat.completions.create({ ...body, stream: true })) {
          content += chunk.choices[0]?.delta.content ?? "";
          for (const call of chunk.choices[0]?.delta.tool_calls ?? []) if (call.function?.name) names.push(call.function.name);
        }
      } else {
        const message = (await openai.chat.completions.create(body)).choices[0]!.message;
        content = message.content ?? "";
        for (const call of message.tool_calls ?? []) if (call.type === "function") names.push(call.function.name);
      }
      // Either the caller's own tool, by its name, or the answer: never mlxm's renamed answer function.
      if (names.length) expect(names).to.deep.equal([ANSWER_FUNCTION]);
      else expect(answerValid(JSON.parse(content))).to.deep.equal({ valid: true });
    }
  });

  it("counted no schema violation", async () => {
    const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
    const violations = text.split("\n").filter((l) => l.startsWith("mlxm_schema_violations_total{"));
    expect(violations.reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0)).to.equal(0);
  });
});
