/**
 * The lean loop of engine/direct-decode.ts is invisible in what is generated: the same requests run on an engine
 * that uses it for a request generating alone (MLXM_DIRECT_DECODE=true) and on one that keeps node-llama-cpp's loop
 * for everything (false), and every answer and usage must be identical: greedy, with a seed and penalties, under a
 * JSON grammar and a JSON schema, with a forced tool call, with a stop string, and through raw completion. Each case
 * also checks which loop ran (and that the lean one decoded tokens ahead), so the comparison cannot pass by both
 * engines taking the same path. Then a request that another joins half-way hands its evaluation over to
 * node-llama-cpp's loop and both finish as they would alone, and disposing the model under a running step ends the
 * generation with an error instead of aborting the process.
 */
import { expect } from "chai";
import { resolveConfig } from "../../src/config/config.js";
import type { ChatEvent, ChatRequest, SamplingOptions, Usage } from "../../src/daemon/core/chat.js";
import { directDecodeStats } from "../../src/daemon/engine/direct-decode.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import { LocalModelService } from "../../src/daemon/engine/local-model-service.js";
import { Store } from "../../src/daemon/store/store.js";
import { silentLogger } from "../../src/observability/logger.js";
import { addTestModel } from "../helpers/models.js";

const GREEDY: SamplingOptions = { temperature: 0, maxTokens: 24 };
const SEEDED: SamplingOptions = { temperature: 0.9, topK: 40, topP: 0.9, seed: 7, frequencyPenalty: 0.5, presencePenalty: 0.3, maxTokens: 24 };
const MESSAGES = [
  { role: "system" as const, content: "You are a storyteller for a test." },
  { role: "user" as const, content: "Tell me about the keeper of the lighthouse and the map under the stairs." },
];

interface Answer {
  text: string;
  usage: Usage;
  finish: string;
}

describe("direct decode: the lean loop for a request alone (real node-llama-cpp)", function () {
  let store: Store;
  let hold: LlamaLease;
  let direct: LocalModelService;
  let classic: LocalModelService;

  function engine(directDecode: boolean): LocalModelService {
    const config = resolveConfig(
      {},
      { MLXM_HOME: "/tmp/unused", MLXM_CONTEXT_SIZE: "2048", MLXM_NUM_PARALLEL: "4", MLXM_DIRECT_DECODE: String(directDecode) },
    );
    return new LocalModelService({ store, engine: config.engine, logger: silentLogger(), totalMemoryBytes: 8 * 2 ** 30 });
  }

  async function collect(events: AsyncIterable<ChatEvent>, onText?: () => void): Promise<Answer> {
    let text = "";
    let usage: Usage | undefined;
    let finish = "";
    for await (const event of events) {
      if (event.type === "text") {
        text += event.text;
        onText?.();
      }
      if (event.type === "tool_call_start") text += `[${event.name}]`;
      if (event.type === "tool_call_delta") text += event.argumentsDelta;
      if (event.type === "done") {
        usage = event.usage;
        finish = event.finishReason;
      }
    }
    return { text, usage: usage!, finish };
  }

  const chat = (models: LocalModelService, request: Partial<ChatRequest>, onText?: () => void) =>
    collect(models.chat({ model: "tiny", messages: MESSAGES, sampling: GREEDY, ...request }, new AbortController().signal), onText);

  /** Runs `run` on both engines; the direct one must step on the lean loop, the classic one never. */
  async function same(run: (models: LocalModelService) => Promise<Answer>): Promise<Answer> {
    const before = directDecodeStats.steps;
    const aheadBefore = directDecodeStats.ahead;
    const lean = await run(direct);
    const leanSteps = directDecodeStats.steps - before;
    const reference = await run(classic);
    expect(directDecodeStats.steps - before - leanSteps, "classic engine on the lean loop").to.equal(0);
    expect(leanSteps, "direct engine steps on the lean loop").to.be.greaterThan(0);
    if (lean.usage.outputTokens > 2) expect(directDecodeStats.ahead, "tokens decoded ahead").to.be.greaterThan(aheadBefore);
    expect(lean).to.deep.equal(reference);
    expect(lean.usage.outputTokens).to.be.greaterThan(0);
    return lean;
  }

  before(async () => {
    hold = leaseLlama({ threads: 1 });
    await hold.llama();
    store = await Store.open(":memory:");
    await addTestModel(store, "tiny", { seed: 5 });
    direct = engine(true);
    classic = engine(false);
  });

  after(async () => {
    await direct?.dispose();
    await classic?.dispose();
    await store?.close();
    await hold?.release();
  });

  it("generates the same greedy answer, twice (the second on a reused prefix)", async () => {
    const first = await same((m) => chat(m, {}));
    expect(first.usage.outputTokens).to.equal(24);
    const again = await same((m) => chat(m, {}));
    expect(again.usage.cachedInputTokens).to.be.greaterThan(0);
    expect(again.text).to.equal(first.text);
  });

  it("generates the same with a seed and frequency and presence penalties", async () => {
    await same((m) => chat(m, { sampling: SEEDED }));
  });

  it("generates the same under a JSON grammar and a JSON schema", async () => {
    await same((m) => chat(m, { responseFormat: { type: "json_object" }, sampling: { ...GREEDY, maxTokens: 40 } }));
    const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name", "age"] };
    await same((m) => chat(m, { responseFormat: { type: "json_schema", schema }, sampling: { ...SEEDED, maxTokens: 40 } }));
  });

  it("generates the same forced tool call", async () => {
    const tools = [{ name: "lookup", description: "Look a word up", parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] } }];
    const answer = await same((m) => chat(m, { tools, toolChoice: { type: "required" }, sampling: { ...GREEDY, maxTokens: 40 } }));
    expect(answer.text).to.match(/^\[lookup\]/);
  });

  it("stops at the same stop string, and completes raw text the same", async () => {
    const free = await chat(classic, {});
    const stop = free.text.trim().split(/\s+/)[2];
    if (stop) {
      const stopped = await same((m) => chat(m, { sampling: { ...GREEDY, stop: [stop] } }));
      expect(stopped.finish).to.equal("stop");
    }
    await same((m) => collect(m.complete({ model: "tiny", prompt: "Once upon a time", sampling: { maxTokens: 20, seed: 3, temperature: 0.7 } }, new AbortController().signal)));
  });

  it("ends a generation with an error, never a crash, when the model is disposed under a running step", async () => {
    // Freeing the native context under a running decode aborts the whole process: the loop must hold
    // node-llama-cpp's disposal guard as its own loop does. Several rounds, disposing at different points.
    for (let round = 0; round < 4; round++) {
      const models = engine(true);
      const before = directDecodeStats.steps;
      let texts = 0;
      const generation = chat(models, { sampling: { ...GREEDY, maxTokens: 400 } }, () => texts++).then(
        () => "finished",
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      while (texts < 2 + round * 3) await new Promise((r) => setImmediate(r));
      await models.dispose();
      expect(await generation).to.match(/disposed/i);
      expect(directDecodeStats.steps).to.be.greaterThan(before);
    }
  });

  it("hands a request over to node-llama-cpp's loop when another joins, and both finish as they would alone", async () => {
    const long: Partial<ChatRequest> = { sampling: { ...GREEDY, maxTokens: 60 } };
    const other: Partial<ChatRequest> = { messages: [{ role: "user", content: "A different question, asked while the first is answered." }] };
    const aloneFirst = await chat(classic, long);
    const aloneOther = await chat(classic, other);

    const handedOver = directDecodeStats.handedOver;
    let texts = 0;
    let joined: Promise<Answer> | undefined;
    const first = await chat(direct, long, () => {
      // A few tokens in, a second request arrives.
      if (++texts === 5) joined = chat(direct, other);
    });
    const second = await joined!;
    expect(directDecodeStats.handedOver).to.be.greaterThan(handedOver);
    expect(first.usage.outputTokens).to.equal(60);
    expect(first.text).to.equal(aloneFirst.text);
    expect(second.text).to.equal(aloneOther.text);
  });
});
