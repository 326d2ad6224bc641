import { expect } from "chai";
import { fromOllamaCopyRequest, fromOllamaCreateRequest, mergePresets } from "../../src/daemon/compat/ollama-create.js";
import { toParameterLines } from "../../src/daemon/compat/ollama-show.js";
import { applyPresetToChat, applyPresetToCompletion, parsePreset, presetSampling } from "../../src/daemon/core/preset.js";
import type { ChatRequest } from "../../src/daemon/core/chat.js";
import { HttpError } from "../../src/daemon/errors.js";
import { toLlamaSampling } from "../../src/daemon/engine/sampling.js";
import { parseModelfile } from "../../src/protocol/modelfile.js";

describe("compat: Ollama create/copy and presets", () => {
  it("reads a create request into a preset intent", () => {
    expect(fromOllamaCreateRequest({ model: "terse", from: "base", system: "Be brief.", parameters: { temperature: 0.2, stop: ["END"] }, stream: false })).to.deep.equal({
      name: "terse",
      from: "base",
      preset: { system: "Be brief.", parameters: { temperature: 0.2, stop: ["END"] } },
      stream: false,
    });
    expect(fromOllamaCreateRequest({ name: "old", from: "base" })).to.deep.equal({ name: "old", from: "base", preset: { parameters: {} }, stream: true });
    // null is unset, as in Ollama (the JS client passes nulls on as given).
    expect(fromOllamaCreateRequest({ model: "n", from: "base", system: null, quantize: null, stream: null, parameters: { temperature: null, top_k: 5 } })).to.deep.equal({
      name: "n",
      from: "base",
      preset: { parameters: { top_k: 5 } },
      stream: true,
    });
  });

  it("reads the older modelfile field, the request's own fields winning", () => {
    const modelfile = 'FROM base\nSYSTEM """Line one.\nLine two."""\nPARAMETER temperature 0.5\nPARAMETER stop "<|end|>"\nPARAMETER stop STOP\n';
    expect(fromOllamaCreateRequest({ model: "m", modelfile, parameters: { temperature: 0.1 } })).to.deep.equal({
      name: "m",
      from: "base",
      preset: { system: "Line one.\nLine two.", parameters: { temperature: 0.1, stop: ["<|end|>", "STOP"] } },
      stream: true,
    });
  });

  it("refuses what needs a model build, unknown parameters, and a missing from, naming the field", () => {
    const param = (body: unknown) => {
      try {
        fromOllamaCreateRequest(body);
      } catch (err) {
        expect(err).to.be.instanceOf(HttpError).and.include({ code: "bad_request" });
        return (err as HttpError).param;
      }
      throw new Error("accepted");
    };
    expect(param({ model: "m", from: "b", quantize: "q4_K_M" })).to.equal("quantize");
    expect(param({ model: "m", files: { "a.gguf": "sha256:00" } })).to.equal("files");
    expect(param({ model: "m", from: "b", parameters: { mirostat: 1 } })).to.equal("parameters.mirostat");
    expect(param({ model: "m", from: "b", parameters: { top_p: 2 } })).to.equal("parameters.top_p");
    expect(param({ model: "m" })).to.equal("from");
    expect(param({ model: "m", modelfile: "FROM b\nADAPTER x.gguf" })).to.equal("modelfile");
    expect(() => fromOllamaCopyRequest({ source: "a" })).to.throw(HttpError);
    expect(fromOllamaCopyRequest({ source: "a", destination: "b" })).to.deep.equal({ source: "a", destination: "b" });
  });

  it("parses Modelfile lines and names the line at fault", () => {
    expect(parseModelfile("# a preset\nfrom base\nSYSTEM hello there\nPARAMETER num_ctx 4096\n")).to.deep.equal({
      from: "base",
      system: "hello there",
      parameters: { num_ctx: 4096 },
    });
    expect(() => parseModelfile("FROM b\nPARAMETER temperature warm")).to.throw(/line 2: PARAMETER temperature needs a number/);
    expect(() => parseModelfile("FROM b\nTEMPLATE x")).to.throw(/line 2: TEMPLATE is not supported/);
    expect(() => parseModelfile('SYSTEM """never closed')).to.throw(/unterminated/);
  });

  it("refuses preset values a request could not send (they would make every request a 400), in requests' ranges", () => {
    expect(() => parseModelfile("FROM b\nPARAMETER frequency_penalty 3")).to.throw(/PARAMETER frequency_penalty: .*2/);
    expect(() => parseModelfile("FROM b\nPARAMETER presence_penalty -2.5")).to.throw(/PARAMETER presence_penalty: .*-2/);
    expect(() => parseModelfile("FROM b\nPARAMETER repeat_last_n -2")).to.throw(/PARAMETER repeat_last_n/);
    expect(parseModelfile("FROM b\nPARAMETER frequency_penalty 2\nPARAMETER presence_penalty -2\nPARAMETER repeat_last_n -1").parameters).to.deep.equal({
      frequency_penalty: 2,
      presence_penalty: -2,
      repeat_last_n: -1,
    });
    expect(() => fromOllamaCreateRequest({ model: "t", from: "b", parameters: { frequency_penalty: 3 } })).to.throw(/parameters\.frequency_penalty/);
    // Each accepted preset value passes the engine's own checks, so a request to the model never fails on it.
    const widest = { temperature: 100, top_p: 1, top_k: 1_000_000, min_p: 1, seed: -1, num_predict: 10_000_000, repeat_penalty: 100, repeat_last_n: -1, frequency_penalty: -2, presence_penalty: 2, stop: ["x"] };
    expect(() => toLlamaSampling(presetSampling(widest))).to.not.throw();
  });

  it("reads a stored preset with penalties from before they were bounded at the nearest accepted value", () => {
    const stored = JSON.stringify({ system: "S", parameters: { frequency_penalty: 3, presence_penalty: -50, temperature: 0.2 } });
    expect(parsePreset(stored)).to.deep.equal({ system: "S", parameters: { frequency_penalty: 2, presence_penalty: -2, temperature: 0.2 } });
  });

  it("merges a preset over its base's and prints parameters as Ollama's show does", () => {
    expect(mergePresets({ system: "A", parameters: { temperature: 1, num_ctx: 4096 } }, { parameters: { temperature: 0 } })).to.deep.equal({
      system: "A",
      parameters: { temperature: 0, num_ctx: 4096 },
    });
    expect(toParameterLines({ temperature: 0.3, stop: ["a", 'b"'], num_ctx: 8192 })).to.deep.equal([
      ["num_ctx", "8192"],
      ["stop", '"a"'],
      ["stop", '"b\\""'],
      ["temperature", "0.3"],
    ]);
  });

  it("applies a preset under a chat request: its defaults unless the request sets a value or a system message", () => {
    const preset = { system: "Be brief.", parameters: { temperature: 0.2, num_predict: 5, stop: ["X"] } };
    const request: ChatRequest = { model: "terse", messages: [{ role: "user", content: "hi" }], sampling: { temperature: 0, seed: 3 } };
    expect(applyPresetToChat(request, preset)).to.deep.equal({
      model: "terse",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi" },
      ],
      sampling: { temperature: 0, maxTokens: 5, stop: ["X"], seed: 3 },
    });
    const own: ChatRequest = { ...request, messages: [{ role: "system", content: "Mine." }, { role: "user", content: "hi" }], sampling: {} };
    expect(applyPresetToChat(own, preset).messages).to.deep.equal(own.messages);
    expect(applyPresetToChat(request, undefined)).to.equal(request);
    expect(applyPresetToCompletion({ model: "m", prompt: "p", sampling: { maxTokens: 1 } }, preset)).to.deep.equal({
      model: "m",
      prompt: "p",
      sampling: { temperature: 0.2, maxTokens: 1, stop: ["X"] },
    });
  });

  it("reads a stored preset, ignoring an unreadable one", () => {
    expect(parsePreset('{"system":"s","parameters":{"top_k":4}}')).to.deep.equal({ system: "s", parameters: { top_k: 4 } });
    expect(parsePreset("{not json")).to.equal(undefined);
    expect(parsePreset(null)).to.equal(undefined);
  });
});
