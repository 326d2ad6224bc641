import { expect } from "chai";
import { fromOllamaCopyRequest, fromOllamaCreateRequest, mergePresets } from "../../src/daemon/compat/ollama-create.js";
import { toParameterLines } from "../../src/daemon/compat/ollama-show.js";
import { applyPresetToChat, applyPresetToCompletion, parsePreset } from "../../src/daemon/core/preset.js";
import type { ChatRequest } from "../../src/daemon/core/chat.js";
import { HttpError } from "../../src/daemon/errors.js";
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
