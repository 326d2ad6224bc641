import { expect } from "chai";
import OpenAI from "openai";
import { fromCompletionRequest, toCompletion, toCompletionChunks } from "../../src/daemon/compat/openai-completions.js";
import { fromEmbeddingRequest, toBase64Embedding, toEmbeddingResponse } from "../../src/daemon/compat/openai-embeddings.js";
import { toOpenAIError } from "../../src/daemon/compat/openai-errors.js";
import { toOpenAIModelList } from "../../src/daemon/compat/openai-models.js";
import { HttpError, modelNotFound } from "../../src/daemon/errors.js";
import { collect, paramOf, replay } from "../helpers/streams.js";

const meta = { id: "cmpl-1", created: 1700000000, model: "m" };

describe("compat: OpenAI completions", () => {
  it("translates a string prompt or an array of one, with OpenAI's default of 16 tokens", () => {
    const t = fromCompletionRequest({ model: "m", prompt: "Once", temperature: 0, stop: ["\n"] });
    expect(t.request).to.deep.equal({ model: "m", prompt: "Once", sampling: { temperature: 0, maxTokens: 16, stop: ["\n"] } });
    expect(fromCompletionRequest({ model: "m", prompt: ["x"], max_tokens: 4, stream: true, stream_options: { include_usage: true } })).to.deep.include({
      stream: true,
      includeUsage: true,
      echo: false,
    });
  });

  it("makes a suffix fill-in-the-middle (the prompt is the text before the gap); an empty or null one is none", () => {
    expect(fromCompletionRequest({ model: "m", prompt: "def f(", suffix: ")\n", max_tokens: 4 }).request).to.deep.equal({
      model: "m",
      prompt: "def f(",
      suffix: ")\n",
      sampling: { maxTokens: 4 },
    });
    // A gap at the very start of a file has an empty prompt.
    expect(fromCompletionRequest({ model: "m", prompt: "", suffix: "x" }).request).to.deep.include({ prompt: "", suffix: "x" });
    for (const suffix of ["", null]) expect(fromCompletionRequest({ model: "m", prompt: "a", suffix }).request).to.not.have.property("suffix");
  });

  it("rejects token prompts, several prompts, best_of, logprobs and n by name", () => {
    expect(paramOf(() => fromCompletionRequest({ model: "m", prompt: [1, 2, 3] }))).to.equal("prompt");
    expect(paramOf(() => fromCompletionRequest({ model: "m", prompt: ["a", "b"] }))).to.equal("prompt");
    expect(paramOf(() => fromCompletionRequest({ model: "m", prompt: "a", best_of: 2 }))).to.equal("best_of");
    expect(paramOf(() => fromCompletionRequest({ model: "m", prompt: "a", logprobs: 2 }))).to.equal("logprobs");
    expect(paramOf(() => fromCompletionRequest({ model: "m", prompt: "a", n: 3 }))).to.equal("n");
    expect(paramOf(() => fromCompletionRequest({ model: "m" }))).to.equal("prompt");
  });

  it("builds text_completion objects and chunks, echo included", async () => {
    const c = toCompletion({ text: " upon", toolCalls: [], finishReason: "length", usage: { inputTokens: 2, outputTokens: 1 } }, meta, "Once");
    expect(c).to.deep.equal({
      id: "cmpl-1",
      object: "text_completion",
      created: 1700000000,
      model: "m",
      choices: [{ index: 0, text: "Once upon", logprobs: null, finish_reason: "length" }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    });
    const chunks = await collect(
      toCompletionChunks(replay([{ type: "text", text: "a" }, { type: "done", finishReason: "stop", usage: { inputTokens: 1, outputTokens: 1 } }]), meta, { includeUsage: true }),
    );
    expect(chunks.map((x) => x.choices[0]?.text ?? null)).to.deep.equal(["a", "", null]);
    expect(chunks.map((x) => x.choices[0]?.finish_reason ?? null)).to.deep.equal([null, "stop", null]);
    expect(chunks[2]!.usage).to.deep.equal({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
  });
});

describe("compat: OpenAI embeddings", () => {
  it("accepts OpenAI's four input forms and dimensions (for upstreams; a local model refuses both)", () => {
    expect(fromEmbeddingRequest({ model: "e", input: "x" })).to.deep.equal({ request: { model: "e", inputs: ["x"] }, encodingFormat: "float" });
    expect(fromEmbeddingRequest({ model: "e", input: ["a", "b"], encoding_format: "base64" }).encodingFormat).to.equal("base64");
    expect(fromEmbeddingRequest({ model: "e", input: [1, 2] }).request.inputs).to.deep.equal([[1, 2]]);
    expect(fromEmbeddingRequest({ model: "e", input: [[1, 2], [3]], dimensions: 8 }).request).to.deep.equal({ model: "e", inputs: [[1, 2], [3]], dimensions: 8 });
    expect(paramOf(() => fromEmbeddingRequest({ model: "e", input: [[1, 2], [1.5]] }))).to.equal("input[1][0]");
    expect(paramOf(() => fromEmbeddingRequest({ model: "e", input: ["a", [1]] }))).to.equal("input[1]");
    expect(paramOf(() => fromEmbeddingRequest({ model: "e", input: [[]] }))).to.equal("input[0]");
    expect(paramOf(() => fromEmbeddingRequest({ model: "e", input: [] }))).to.equal("input");
    expect(paramOf(() => fromEmbeddingRequest({ model: "e", input: "x", encoding_format: "hex" }))).to.equal("encoding_format");
  });

  it("encodes base64 as little-endian float32, as OpenAI does", () => {
    const v = [0.5, -1.25, 3.4028234663852886e38, 1e-3];
    const b64 = toBase64Embedding(v);
    const buf = Buffer.from(b64, "base64");
    expect(buf.length).to.equal(16);
    expect(buf.readFloatLE(0)).to.equal(0.5);
    expect(buf.readFloatLE(4)).to.equal(-1.25);
    expect(buf.readFloatLE(12)).to.equal(Math.fround(1e-3));
    // The bytes of 0.5f little-endian: 00 00 00 3f.
    expect([...buf.subarray(0, 4)]).to.deep.equal([0, 0, 0, 0x3f]);
  });

  it("builds the list response in both encodings", () => {
    const result = { model: "e", embeddings: [[1, 2]], usage: { inputTokens: 3 } };
    expect(toEmbeddingResponse(result, "e", "float")).to.deep.equal({
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: [1, 2] }],
      model: "e",
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(toEmbeddingResponse(result, "e", "base64").data[0]!.embedding).to.equal(toBase64Embedding([1, 2]));
  });
});

describe("compat: OpenAI models and errors", () => {
  it("lists models with unix-second creation times", () => {
    expect(toOpenAIModelList([{ name: "a", createdAt: "2024-01-01T00:00:00.000Z" }])).to.deep.equal({
      object: "list",
      data: [{ id: "a", object: "model", created: 1704067200, owned_by: "mlxm" }],
    });
  });

  it("shapes errors as OpenAI does, with the param", () => {
    expect(toOpenAIError(modelNotFound("x"))).to.deep.equal({
      error: { message: 'model "x" not found', type: "invalid_request_error", param: "model", code: "model_not_found" },
    });
    expect(toOpenAIError(new HttpError("queue_full", "busy")).error).to.deep.include({ type: "requests", code: "rate_limit_exceeded" });
    expect(toOpenAIError(new HttpError("bad_request", "no", undefined, undefined, "n")).error).to.deep.equal({
      message: "no",
      type: "invalid_request_error",
      param: "n",
      code: null,
    });
  });

  it("uses statuses the openai SDK maps to its error classes", () => {
    const cls = (code: ConstructorParameters<typeof HttpError>[0]) => {
      const e = new HttpError(code, "x");
      return OpenAI.APIError.generate(e.status, toOpenAIError(e), undefined, new Headers()).constructor;
    };
    expect(cls("model_not_found")).to.equal(OpenAI.NotFoundError);
    expect(cls("bad_request")).to.equal(OpenAI.BadRequestError);
    expect(cls("invalid_json")).to.equal(OpenAI.BadRequestError);
    expect(cls("queue_full")).to.equal(OpenAI.RateLimitError);
    expect(cls("invalid_model")).to.equal(OpenAI.UnprocessableEntityError);
    expect(cls("internal")).to.equal(OpenAI.InternalServerError);
  });
});
