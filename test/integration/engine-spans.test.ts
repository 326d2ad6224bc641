import { expect } from "chai";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { resolveConfig } from "../../src/config/config.js";
import { collectChat } from "../../src/daemon/core/chat.js";
import { LocalModelService } from "../../src/daemon/engine/local-model-service.js";
import { ANSWER_FUNCTION } from "../../src/daemon/engine/tool-calls.js";
import { Store } from "../../src/daemon/store/store.js";
import { silentLogger } from "../../src/observability/logger.js";
import { addTestModel } from "../helpers/models.js";

describe("local engine spans", () => {
  const exporter = new InMemorySpanExporter();
  let store: Store;
  let models: LocalModelService;

  before(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    store = await Store.open(":memory:");
    await addTestModel(store, "tiny", { seed: 5 });
    await addTestModel(store, "tiny-fim", { seed: 5, infill: true });
    const config = resolveConfig({}, { MLXM_HOME: "/tmp/unused" });
    models = new LocalModelService({ store, engine: config.engine, logger: silentLogger(), totalMemoryBytes: 8 * 2 ** 30 });
  });

  after(async () => {
    await models?.dispose();
    await store?.close();
    trace.disable();
  });

  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

  it("records a GenAI chat span (cold, then warm) and a model-load span", async () => {
    const request = {
      model: "tiny",
      messages: [{ role: "user" as const, content: "Hi" }],
      sampling: { maxTokens: 6, temperature: 0.5, topP: 0.9, seed: 7 },
    };
    const first = await collectChat(models.chat(request, new AbortController().signal));
    const second = await collectChat(models.chat(request, new AbortController().signal));

    const [cold, warm] = spans("chat tiny");
    expect(cold, "a span per generation").to.exist;
    expect(cold!.attributes).to.deep.include({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "mlxm",
      "gen_ai.request.model": "tiny",
      "gen_ai.response.model": "tiny",
      "gen_ai.request.max_tokens": 6,
      "gen_ai.request.temperature": 0.5,
      "gen_ai.request.seed": 7,
      "gen_ai.usage.input_tokens": first.usage.inputTokens,
      "gen_ai.usage.output_tokens": 6,
      "mlxm.model.load": "cold",
      // No GPU here: the default (MLXM_GPU=auto) fell back to the CPU, and the span says so.
      "mlxm.gpu.backend": "cpu",
      "mlxm.gpu.layers": 0,
    });
    expect(cold!.attributes["gen_ai.response.finish_reasons"]).to.deep.equal(["length"]);
    expect(cold!.attributes["gen_ai.server.time_to_first_token_ms"]).to.be.a("number");
    expect(cold!.attributes["mlxm.tokens_per_second"]).to.be.a("number");
    expect(warm!.attributes["mlxm.model.load"]).to.equal("warm");
    // The same prompt again: all of it but the last token comes from the sequence's cache.
    expect(cold!.attributes["gen_ai.usage.cache_read.input_tokens"]).to.equal(0);
    expect(second.usage.cachedInputTokens).to.equal(second.usage.inputTokens - 1);
    expect(warm!.attributes["gen_ai.usage.cache_read.input_tokens"]).to.equal(second.usage.cachedInputTokens);

    const [load] = spans("mlxm.model.load");
    expect(load!.attributes).to.deep.include({
      "gen_ai.request.model": "tiny",
      "mlxm.context.sequences": 4,
      "mlxm.gpu.backend": "cpu",
      "mlxm.gpu.layers": 0,
      "mlxm.model.vram_bytes": 0,
    });
    expect(load!.attributes["mlxm.model.layers"]).to.be.greaterThan(0);
  });

  it("marks the span as failed with the error code", async () => {
    try {
      await collectChat(models.chat({ model: "nope", messages: [], sampling: {} }, new AbortController().signal));
    } catch {
      // expected
    }
    const [failed] = spans("chat nope");
    expect(failed!.attributes["error.type"]).to.equal("model_not_found");
  });

  it("records embeddings spans", async () => {
    await models.embed({ model: "tiny", inputs: ["a", "b"] }, new AbortController().signal);
    const [span] = spans("embeddings tiny");
    expect(span!.attributes).to.deep.include({ "gen_ai.operation.name": "embeddings", "gen_ai.embeddings.dimension.count": 64 });
    expect(span!.attributes["gen_ai.usage.input_tokens"]).to.be.greaterThan(0);
  });

  it("records fill-in-the-middle as a text completion like any other, marked infill", async () => {
    const request = { model: "tiny-fim", prompt: "def f(", sampling: { maxTokens: 2 } };
    const plain = await collectChat(models.complete(request, new AbortController().signal));
    const fim = await collectChat(models.complete({ ...request, suffix: ")" }, new AbortController().signal));
    const [plainSpan, fimSpan] = spans("text_completion tiny-fim");
    expect(fimSpan!.attributes).to.deep.include({
      "gen_ai.operation.name": "text_completion",
      "gen_ai.usage.input_tokens": fim.usage.inputTokens,
      "gen_ai.usage.output_tokens": 2,
      "mlxm.completion.infill": true,
    });
    expect(plainSpan!.attributes).to.not.have.property("mlxm.completion.infill");
    expect(fim.usage.inputTokens).to.be.greaterThan(plain.usage.inputTokens);
  });

  it("records the grammar compile time of a schema, and a cache hit when it repeats", async () => {
    exporter.reset();
    const schema = { type: "object", properties: { ok: { type: "boolean" }, n: { type: "integer", minimum: 0, maximum: 9 } }, required: ["ok", "n"] };
    const request = {
      model: "tiny",
      messages: [{ role: "user" as const, content: "Hi" }],
      responseFormat: { type: "json_schema" as const, schema },
      sampling: { maxTokens: 40, seed: 3 },
    };
    await collectChat(models.chat(request, new AbortController().signal));
    await collectChat(models.chat(request, new AbortController().signal));
    const [first, second] = spans("chat tiny");
    expect(first!.attributes["mlxm.grammar.cached"]).to.equal(false);
    expect(first!.attributes["mlxm.grammar.compile_ms"]).to.be.a("number");
    expect(second!.attributes).to.deep.include({ "mlxm.grammar.cached": true, "mlxm.grammar.compile_ms": 0, "mlxm.response.schema_valid": true });
  });

  it("records an answer given through the answer function (auto tools with a format) as text, never as a call of it", async () => {
    const config = resolveConfig({}, { MLXM_HOME: "/tmp/unused" });
    const recording = new LocalModelService({ store, engine: config.engine, logger: silentLogger(), totalMemoryBytes: 8 * 2 ** 30, recordContent: true });
    try {
      const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
      const answerFor = async (name: string) => {
        exporter.reset();
        const request = {
          model: "tiny",
          messages: [{ role: "user" as const, content: "Hi" }],
          tools: [{ name, parameters: { type: "object", properties: {}, additionalProperties: false } }],
          responseFormat: { type: "json_schema" as const, schema },
          sampling: { maxTokens: 80, temperature: 0 },
        };
        return collectChat(recording.chat(request, new AbortController().signal));
      };
      // Which tool names the random model passes over for the answer depends on its weights (see
      // structured-output-tools.test.ts): try first letters until it answers.
      let result;
      for (const c of "abcdeghijklmnopqrstuvwxyz") if ((result = await answerFor(`${c}_tool`)).toolCalls.length === 0) break;
      expect(result!.finishReason).to.equal("stop");
      const [span] = spans("chat tiny");
      expect(span!.attributes["mlxm.response.schema_valid"]).to.equal(true);
      const output = JSON.parse(String(span!.attributes["gen_ai.output.messages"])) as { parts: { type: string; content: string }[] }[];
      expect(output[0]!.parts).to.deep.equal([{ type: "text", content: result!.text }]);
      expect(JSON.stringify(span!.attributes)).not.to.contain(ANSWER_FUNCTION);
    } finally {
      await recording.dispose();
    }
  });
});
