import { expect } from "chai";
import { toOllamaModelEntry, toOllamaRunningModel } from "../../src/daemon/compat/ollama-models.js";
import type { LoadedModel, ModelSummary } from "../../src/daemon/core/model-service.js";
import { PsResponse, TagsResponse } from "../../src/protocol/native.js";

const summary: ModelSummary = {
  name: "hf.co/org/repo:Q8_0",
  sizeBytes: 1234,
  digest: "sha256:abcd",
  createdAt: "2024-01-01T00:00:00.000Z",
  modifiedAt: "2024-01-02T00:00:00.000Z",
  format: "gguf",
  family: "llama",
  parameterSize: "1.2M",
  quantization: "Q8_0",
};

describe("compat: Ollama model lists", () => {
  it("shapes a model as an /api/tags entry, digest without its prefix", () => {
    const entry = toOllamaModelEntry(summary);
    expect(entry).to.deep.equal({
      name: "hf.co/org/repo:Q8_0",
      model: "hf.co/org/repo:Q8_0",
      modified_at: "2024-01-02T00:00:00.000Z",
      size: 1234,
      digest: "abcd",
      details: { parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: "1.2M", quantization_level: "Q8_0" },
    });
    expect(TagsResponse.parse({ models: [entry] }).models[0]).to.deep.equal(entry);
  });

  it("leaves unknown details empty, as Ollama does", () => {
    expect(toOllamaModelEntry({ name: "x", sizeBytes: 1, digest: "sha256:00", createdAt: "", modifiedAt: "", format: "gguf" }).details).to.deep.equal({
      parent_model: "",
      format: "gguf",
      family: "",
      families: null,
      parameter_size: "",
      quantization_level: "",
    });
  });

  it("marks a routed name as Ollama marks its cloud models", () => {
    const entry = toOllamaModelEntry({
      name: "claude", sizeBytes: 0, digest: "", createdAt: "2024-01-01T00:00:00.000Z", modifiedAt: "2024-01-01T00:00:00.000Z",
      format: "remote", family: "anthropic", remote: { provider: "anthropic", upstreamModel: "claude-x", host: "anthropic" },
    });
    expect(entry).to.deep.include({ size: 0, digest: "", remote_model: "claude-x", remote_host: "anthropic" });
  });

  it("shapes a loaded model as an /api/ps entry: size is the whole loaded footprint, size_vram its GPU part", () => {
    const loaded: LoadedModel = {
      model: summary,
      memoryBytes: 9999,
      vramBytes: 1,
      expiresAt: null,
      contextLength: 2048,
      offload: { backend: "cuda", gpuLayers: 3, totalLayers: 4 },
      activeRequests: 1,
      queuedRequests: 2,
    };
    const entry = toOllamaRunningModel(loaded);
    expect(entry).to.deep.equal({
      ...toOllamaModelEntry(summary),
      size: 10000,
      expires_at: null,
      size_vram: 1,
      context_length: 2048,
      offload: { backend: "cuda", gpu_layers: 3, total_layers: 4 },
      active_requests: 1,
      queued_requests: 2,
    });
    expect(PsResponse.parse({ models: [entry] }).models[0]).to.deep.equal(entry);
  });
});
