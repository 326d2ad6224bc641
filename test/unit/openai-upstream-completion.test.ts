/** The client-side translation of a raw or fill-in-the-middle completion to OpenAI's text completions API, and back. */
import { expect } from "chai";
import type { Completion } from "openai/resources/completions";
import type { CompletionRequest } from "../../src/daemon/core/chat.js";
import { HttpError } from "../../src/daemon/errors.js";
import { OpenAICompletionDecoder, toOpenAIUpstreamCompletion } from "../../src/daemon/routing/openai-upstream-completion.js";

const fim: CompletionRequest = { model: "coder", prompt: "def f(", suffix: ")", sampling: { maxTokens: 8, temperature: 0.2, topK: 40, stop: ["\n\n"] } };

describe("routing: OpenAI text completions upstream", () => {
  it("sends prompt, suffix and sampling (llama.cpp's extras only to servers other than OpenAI's), streamed with usage", () => {
    expect(toOpenAIUpstreamCompletion(fim, "qwen-coder", "openai-compatible")).to.deep.equal({
      model: "qwen-coder",
      prompt: "def f(",
      suffix: ")",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 8,
      temperature: 0.2,
      top_k: 40,
      stop: ["\n\n"],
    });
    expect(() => toOpenAIUpstreamCompletion(fim, "gpt-3.5-turbo-instruct", "openai")).to.throw(HttpError, /top_k is not supported by openai/);
    expect(() => toOpenAIUpstreamCompletion({ ...fim, responseFormat: { type: "json_object" } }, "qwen-coder", "mlxm")).to.throw(HttpError, /format is not supported/);
  });

  it("decodes text, the finish reason and the usage of the last chunk; unreported usage is said so", () => {
    const chunk = (text: string, finish: Completion["choices"][0]["finish_reason"] | null, usage?: Completion["usage"]) =>
      ({ id: "c", object: "text_completion", created: 1, model: "m", choices: usage ? [] : [{ index: 0, text, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) }) as Completion;
    const decoder = new OpenAICompletionDecoder();
    const events = [chunk("x = ", null), chunk("1", null), chunk("", "length"), chunk("", null, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 })].flatMap((c) => decoder.decode(c));
    expect(events).to.deep.equal([{ type: "text", text: "x = " }, { type: "text", text: "1" }]);
    expect(decoder.finish()).to.deep.equal({ type: "done", finishReason: "length", usage: { inputTokens: 5, outputTokens: 2 } });
    expect(new OpenAICompletionDecoder().finish()).to.deep.include({ usageUnreported: true });
  });
});
