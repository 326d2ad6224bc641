import { expect } from "chai";
import type { ChatEvent } from "../../src/daemon/core/chat.js";
import type { ModelInfo } from "../../src/daemon/core/model-service.js";
import { fromOllamaChatRequest, toOllamaChatChunks, toOllamaChatResponse } from "../../src/daemon/compat/ollama-chat.js";
import { fromOllamaEmbedRequest, toOllamaEmbedResponse } from "../../src/daemon/compat/ollama-embed.js";
import { fromOllamaGenerateRequest, toOllamaGenerateChunks } from "../../src/daemon/compat/ollama-generate.js";
import { fromKeepAlive, toOllamaMetrics } from "../../src/daemon/compat/ollama-options.js";
import { fromOllamaShowRequest, toOllamaShowResponse } from "../../src/daemon/compat/ollama-show.js";
import { ChatResponse, GenerateResponse } from "../../src/protocol/chat.js";
import { ShowResponse } from "../../src/protocol/show.js";
import { GIF, JPEG_HEAD, PNG, WEBP_HEAD } from "../helpers/images.js";
import { collect, paramOf, replay } from "../helpers/streams.js";

/** A clock that advances 1 ms per reading from t=1000. */
function tickingClock() {
  let t = 1000;
  return { now: () => t++ };
}

const done: ChatEvent = {
  type: "done",
  finishReason: "length",
  usage: { inputTokens: 4, outputTokens: 8 },
  timings: { queueMs: 1, loadMs: 10, timeToFirstTokenMs: 15, generationMs: 20 },
};

describe("compat: Ollama chat request → core", () => {
  it("translates messages, options, format, keep_alive and streams by default", () => {
    const intent = fromOllamaChatRequest({
      model: "m",
      messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }],
      options: { temperature: 0.2, top_p: 0.8, top_k: 20, min_p: 0.1, seed: 3, num_predict: 9, stop: ["x"], repeat_penalty: 1.1, repeat_last_n: -1, frequency_penalty: 0.3, presence_penalty: 0.4, num_ctx: 4096 },
      format: "json",
      keep_alive: "10m",
    });
    expect(intent.kind).to.equal("generate");
    if (intent.kind !== "generate") return;
    expect(intent.stream).to.equal(true);
    expect(intent.request).to.deep.equal({
      model: "m",
      messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }],
      sampling: { temperature: 0.2, topP: 0.8, topK: 20, minP: 0.1, seed: 3, maxTokens: 9, stop: ["x"], repeatPenalty: 1.1, repeatLastN: -1, frequencyPenalty: 0.3, presencePenalty: 0.4 },
      responseFormat: { type: "json_object" },
      keepAliveMs: 600_000,
    });
  });

  it("takes a JSON schema as format, and num_predict -1 as no limit", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const intent = fromOllamaChatRequest({ model: "m", messages: [{ role: "user", content: "x" }], format: schema, options: { num_predict: -1 }, stream: false });
    if (intent.kind !== "generate") throw new Error("expected generate");
    expect(intent.stream).to.equal(false);
    expect(intent.request.responseFormat).to.deep.equal({ type: "json_schema", schema, param: "format" });
    expect(intent.request.sampling).to.deep.equal({});
  });

  it("reads a null option as unset, as Ollama does (clients that send every option they know send null for the rest)", () => {
    const names = ["temperature", "top_p", "top_k", "min_p", "seed", "num_predict", "stop", "repeat_penalty", "repeat_last_n", "frequency_penalty", "presence_penalty", "num_ctx", "mirostat"];
    const options = { ...Object.fromEntries(names.map((n) => [n, null])), temperature: 0.5 };
    const intent = fromOllamaChatRequest({ model: "m", messages: [{ role: "user", content: "x" }], options });
    if (intent.kind !== "generate") throw new Error("expected generate");
    expect(intent.request.sampling).to.deep.equal({ temperature: 0.5 });
  });

  it("translates tools and tool calls with object arguments, pairing tool results by name", () => {
    const intent = fromOllamaChatRequest({
      model: "m",
      tools: [{ type: "function", function: { name: "add", description: "Add", parameters: { type: "object" } } }],
      messages: [
        { role: "user", content: "1+2?" },
        { role: "assistant", content: "", tool_calls: [{ function: { name: "add", arguments: { a: 1, b: 2 } } }] },
        { role: "tool", tool_name: "add", content: "3" },
      ],
    });
    if (intent.kind !== "generate") throw new Error("expected generate");
    expect(intent.request.tools).to.deep.equal([{ name: "add", description: "Add", parameters: { type: "object" } }]);
    expect(intent.request.toolChoice).to.deep.equal({ type: "auto" });
    expect(intent.request.messages.slice(1)).to.deep.equal([
      { role: "assistant", content: "", toolCalls: [{ id: "call_1_0", name: "add", arguments: '{"a":1,"b":2}' }] },
      { role: "tool", content: "3", toolCallId: "call_1_0", name: "add" },
    ]);
  });

  it("reads no messages as load, and keep_alive 0 as unload", () => {
    expect(fromOllamaChatRequest({ model: "m" })).to.deep.equal({ kind: "load", model: "m", stream: true });
    expect(fromOllamaChatRequest({ model: "m", keep_alive: -1 })).to.deep.equal({ kind: "load", model: "m", stream: true, keepAliveMs: -1 });
    expect(fromOllamaChatRequest({ model: "m", messages: [], keep_alive: 0 })).to.deep.include({ kind: "unload", model: "m" });
  });

  it("maps think to reasoning on or off", () => {
    const chat = (think: unknown) => fromOllamaChatRequest({ model: "m", messages: [{ role: "user", content: "x" }], think });
    expect(chat(true)).to.deep.include({ request: { model: "m", messages: [{ role: "user", content: "x" }], sampling: {}, reasoning: { enabled: true, param: "think" } } });
    expect(chat(false)).to.deep.include({ request: { model: "m", messages: [{ role: "user", content: "x" }], sampling: {}, reasoning: { enabled: false, param: "think" } } });
    expect(chat("high")).to.deep.include({ request: { model: "m", messages: [{ role: "user", content: "x" }], sampling: {}, reasoning: { enabled: true, param: "think", effort: "high" } } });
  });

  it("takes base64 images, typed by their first bytes, before the text as Ollama puts them; /api/generate too", () => {
    const images = [PNG, JPEG_HEAD, GIF, WEBP_HEAD, `data:image/png;base64,${PNG}`];
    const intent = fromOllamaChatRequest({ model: "m", messages: [{ role: "user", content: "what?", images }] });
    const image = (mediaType: string, data: string) => ({ type: "image", source: { kind: "base64", mediaType, data } });
    const parts = [image("image/png", PNG), image("image/jpeg", JPEG_HEAD), image("image/gif", GIF), image("image/webp", WEBP_HEAD), image("image/png", PNG), { type: "text", text: "what?" }];
    expect(intent).to.deep.include({ request: { model: "m", messages: [{ role: "user", content: "what?", parts }], sampling: {} } });
    expect(fromOllamaGenerateRequest({ model: "m", prompt: "what?", images: [GIF] })).to.deep.include({
      request: { kind: "chat", chat: { model: "m", messages: [{ role: "user", content: "what?", parts: [image("image/gif", GIF), { type: "text", text: "what?" }] }], sampling: {} } },
    });
  });

  it("rejects bytes that are no image, a bad think value, bad keep_alive and bad options by name", () => {
    expect(paramOf(() => fromOllamaChatRequest({ model: "m", messages: [{ role: "user", content: "x", images: ["aGk="] }] }))).to.equal("messages[0].images[0]");
    expect(paramOf(() => fromOllamaChatRequest({ model: "m", messages: [{ role: "system", content: "x", images: [PNG] }] }))).to.equal("messages[0].images");
    expect(paramOf(() => fromOllamaChatRequest({ model: "m", messages: [], think: "very" }))).to.equal("think");
    expect(paramOf(() => fromOllamaChatRequest({ model: "m", keep_alive: "soon" }))).to.equal("keep_alive");
    expect(paramOf(() => fromOllamaChatRequest({ model: "m", options: { temperature: "hot" } }))).to.equal("options.temperature");
    expect(paramOf(() => fromOllamaChatRequest({ messages: [] }))).to.equal("model");
  });

  it("parses keep_alive as Ollama does", () => {
    expect(fromKeepAlive("5m")).to.equal(300_000);
    expect(fromKeepAlive(30)).to.equal(30_000);
    expect(fromKeepAlive("1h30m")).to.equal(5_400_000);
    expect(fromKeepAlive("-1")).to.equal(-1);
    expect(fromKeepAlive(-5)).to.equal(-1);
    expect(fromKeepAlive(0)).to.equal(0);
    expect(fromKeepAlive(undefined)).to.equal(undefined);
  });
});

describe("compat: core → Ollama chat", () => {
  it("streams content lines and a final line with done_reason and nanosecond metrics", async () => {
    const lines = await collect(
      toOllamaChatChunks(replay([{ type: "text", text: "Hel" }, { type: "text", text: "lo" }, done]), { model: "m", startMs: 900, clock: tickingClock() }),
    );
    for (const l of lines) ChatResponse.parse(l);
    expect(lines.map((l) => [l.message.content, l.done])).to.deep.equal([["Hel", false], ["lo", false], ["", true]]);
    expect(lines[0]!.created_at).to.equal(new Date(1000).toISOString());
    const last = lines[2]!;
    expect(last.done_reason).to.equal("length");
    expect(last).to.deep.include({
      load_duration: 10_000_000,
      prompt_eval_count: 4,
      prompt_eval_duration: 4_000_000,
      eval_count: 8,
      eval_duration: 16_000_000,
    });
    expect(last.total_duration).to.be.a("number").and.be.greaterThan(0);
  });

  it("sends each tool call whole, with parsed arguments, once its arguments are complete", async () => {
    const lines = await collect(
      toOllamaChatChunks(
        replay([
          { type: "tool_call_start", index: 0, id: "call_a", name: "add" },
          { type: "tool_call_delta", index: 0, argumentsDelta: '{"a":' },
          { type: "tool_call_delta", index: 0, argumentsDelta: "1}" },
          { type: "done", finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 5 } },
        ]),
        { model: "m", startMs: 0 },
      ),
    );
    expect(lines).to.have.length(2);
    expect(lines[0]!.message.tool_calls).to.deep.equal([{ id: "call_a", function: { index: 0, name: "add", arguments: { a: 1 } } }]);
    expect(lines[1]!.done_reason).to.equal("stop");
  });

  it("builds the non-streamed answer", () => {
    const r = toOllamaChatResponse(
      { text: "hi", toolCalls: [{ id: "c", name: "f", arguments: "{}" }], finishReason: "stop", usage: { inputTokens: 2, outputTokens: 1 } },
      { model: "m", startMs: 0, clock: { now: () => 5 } },
    );
    expect(r).to.deep.include({ model: "m", done: true, done_reason: "stop", prompt_eval_count: 2, eval_count: 1, total_duration: 5_000_000 });
    expect(r.message).to.deep.equal({ role: "assistant", content: "hi", tool_calls: [{ id: "c", function: { index: 0, name: "f", arguments: {} } }] });
  });
});

describe("compat: Ollama generate, embed, show", () => {
  it("makes a templated prompt a one-turn chat, and raw a completion", () => {
    const chat = fromOllamaGenerateRequest({ model: "m", prompt: "hi", system: "s", options: { num_predict: 4 }, stream: false });
    expect(chat).to.deep.equal({
      kind: "generate",
      stream: false,
      request: { kind: "chat", chat: { model: "m", messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }], sampling: { maxTokens: 4 } } },
    });
    const raw = fromOllamaGenerateRequest({ model: "m", prompt: "abc", raw: true, format: "json" });
    expect(raw).to.deep.equal({
      kind: "generate",
      stream: true,
      request: { kind: "complete", completion: { model: "m", prompt: "abc", sampling: {}, responseFormat: { type: "json_object" } } },
    });
  });

  it("reads an empty prompt as load or unload, and refuses what it cannot honour", () => {
    expect(fromOllamaGenerateRequest({ model: "m" })).to.deep.equal({ kind: "load", model: "m", stream: true });
    expect(fromOllamaGenerateRequest({ model: "m", keep_alive: 0 })).to.deep.equal({ kind: "unload", model: "m", stream: true });
    expect(paramOf(() => fromOllamaGenerateRequest({ model: "m", prompt: "x", images: ["aGk="] }))).to.equal("images[0]");
    expect(paramOf(() => fromOllamaGenerateRequest({ model: "m", prompt: "x", raw: true, images: [PNG] }))).to.equal("images");
    expect(paramOf(() => fromOllamaGenerateRequest({ model: "m", prompt: "x", template: "{{ .Prompt }}" }))).to.equal("template");
    expect(paramOf(() => fromOllamaGenerateRequest({ model: "m", prompt: "x", context: [1, 2] }))).to.equal("context");
  });

  it("makes a suffix fill-in-the-middle, raw or not; refuses system, think and images with it; an empty suffix is none", () => {
    const fim = (body: Record<string, unknown>) => fromOllamaGenerateRequest({ model: "m", stream: false, ...body });
    const completion = { model: "m", prompt: "def f(", suffix: ")", sampling: { maxTokens: 4 }, responseFormat: { type: "json_object" } };
    const expected = { kind: "generate", stream: false, request: { kind: "complete", completion } };
    expect(fim({ prompt: "def f(", suffix: ")", format: "json", options: { num_predict: 4 } })).to.deep.equal(expected);
    // No chat template is involved either way (Ollama drops the suffix under raw instead).
    expect(fim({ prompt: "def f(", suffix: ")", raw: true, format: "json", options: { num_predict: 4 } })).to.deep.equal(expected);
    // A gap at the start of a file: an empty prompt fills it rather than only loading the model.
    expect(fim({ prompt: "", suffix: "x" })).to.deep.nested.include({ "request.completion.prompt": "", "request.completion.suffix": "x" });
    expect(fim({ prompt: "hi", suffix: "" })).to.deep.nested.include({ "request.kind": "chat" });
    expect(fim({ suffix: "" })).to.deep.equal({ kind: "load", model: "m", stream: false });
    expect(fim({ prompt: "x", suffix: "y", think: false })).to.deep.nested.include({ "request.completion.suffix": "y" });
    expect(paramOf(() => fim({ prompt: "x", suffix: "y", system: "s" }))).to.equal("system");
    expect(paramOf(() => fim({ prompt: "x", suffix: "y", think: true }))).to.equal("think");
    // An image has no place in a fill-in-the-middle prompt: refused, not dropped.
    expect(paramOf(() => fim({ prompt: "x", suffix: "y", images: ["iVBORw0KGgo="] }))).to.equal("images");
    expect(paramOf(() => fim({ prompt: "x", suffix: "y", context: [1] }))).to.equal("context");
  });

  it("streams generate lines", async () => {
    const lines = await collect(toOllamaGenerateChunks(replay([{ type: "text", text: "a" }, done]), { model: "m", startMs: 0 }));
    for (const l of lines) GenerateResponse.parse(l);
    expect(lines.map((l) => [l.response, l.done, l.done_reason])).to.deep.equal([["a", false, undefined], ["", true, "length"]]);
  });

  it("translates embed requests and responses", () => {
    expect(fromOllamaEmbedRequest({ model: "e", input: "x", keep_alive: "1m" })).to.deep.equal({ model: "e", inputs: ["x"], truncate: true, keepAliveMs: 60_000 });
    expect(fromOllamaEmbedRequest({ model: "e", input: "x", truncate: false }).truncate).to.equal(false);
    expect(fromOllamaEmbedRequest({ model: "e", input: "" }).inputs).to.deep.equal([]);
    expect(fromOllamaEmbedRequest({ model: "e", input: ["a", "b"] }).inputs).to.deep.equal(["a", "b"]);
    expect(paramOf(() => fromOllamaEmbedRequest({ model: "e", input: [1] }))).to.equal("input");
    expect(toOllamaEmbedResponse({ model: "e", embeddings: [[1]], usage: { inputTokens: 2 } }, "e", 3)).to.deep.equal({
      model: "e",
      embeddings: [[1]],
      total_duration: 3_000_000,
      load_duration: 0,
      prompt_eval_count: 2,
    });
  });

  it("shows a model in Ollama's shape with mlxm's facts", () => {
    expect(fromOllamaShowRequest({ name: "old" })).to.deep.equal({ model: "old", verbose: false });
    expect(paramOf(() => fromOllamaShowRequest({}))).to.equal("model");
    const info: ModelInfo = {
      name: "mlxm-tiny",
      source: "builtin",
      digest: "sha256:abc",
      sizeBytes: 600_000,
      modifiedAt: "2024-01-01T00:00:00.000Z",
      architecture: "llama",
      family: "llama",
      parameterCount: 140_000,
      parameterSize: "140K",
      quantization: "F32",
      contextLength: 2048,
      embeddingLength: 64,
      hasChatTemplate: true,
      chatTemplate: "{{ messages }}",
      files: [{ filename: "tiny.gguf", path: "/h/models/tiny.gguf", sizeBytes: 600_000 }],
      notes: ["random weights: produces gibberish"],
      metadata: { "general.name": "mlxm-tiny" },
    };
    const show = ShowResponse.parse(toOllamaShowResponse(info));
    expect(show.details).to.deep.equal({ parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: "140K", quantization_level: "F32" });
    expect(show.model_info).to.deep.include({ "general.architecture": "llama", "general.parameter_count": 140_000, "llama.context_length": 2048, "general.name": "mlxm-tiny" });
    expect(show.template).to.equal("{{ messages }}");
    expect(show.modelfile).to.contain("FROM /h/models/tiny.gguf");
    expect(show.mlxm).to.deep.include({ context_length: 2048, has_chat_template: true, quantization: "F32", notes: info.notes });
    expect(show.mlxm.files).to.deep.equal([{ filename: "tiny.gguf", path: "/h/models/tiny.gguf", size: 600_000 }]);
    expect(show.capabilities).to.deep.equal(["completion", "tools"]);
    // All three infill tokens named, by current keys or llama.cpp's older ones: Ollama's `insert` (suffix works).
    const fim = { "tokenizer.ggml.fim_pre_token_id": 1, "tokenizer.ggml.suffix_token_id": 2, "tokenizer.ggml.fim_mid_token_id": 3 };
    expect(toOllamaShowResponse({ ...info, metadata: fim }).capabilities).to.deep.equal(["completion", "tools", "insert"]);
    const { "tokenizer.ggml.fim_mid_token_id": _mid, ...noMiddle } = fim;
    expect(toOllamaShowResponse({ ...info, metadata: noMiddle }).capabilities).to.deep.equal(["completion", "tools"]);
  });

  it("computes metrics without timings", () => {
    expect(toOllamaMetrics({ inputTokens: 1, outputTokens: 2 }, undefined, 1.5)).to.deep.equal({
      total_duration: 1_500_000,
      load_duration: 0,
      prompt_eval_count: 1,
      prompt_eval_duration: 0,
      eval_count: 2,
      eval_duration: 0,
    });
  });

  it("reports cached prompt tokens as prompt_eval_cached_count, keeping prompt_eval_count the whole prompt", () => {
    expect(toOllamaMetrics({ inputTokens: 10, outputTokens: 2, cachedInputTokens: 7 }, undefined, 1)).to.deep.equal({
      total_duration: 1_000_000,
      load_duration: 0,
      prompt_eval_count: 10,
      prompt_eval_cached_count: 7,
      prompt_eval_duration: 0,
      eval_count: 2,
      eval_duration: 0,
    });
  });
});
