import { expect } from "chai";
import { defaultModelName, normaliseModelName, splitPartPaths, splitPosition } from "../../src/daemon/library/split-names.js";

describe("library: file and model names", () => {
  it("finds every part of a split GGUF from any part", () => {
    expect(splitPosition("/m/Qwen-Q4_K_M-00002-of-00003.gguf")).to.deep.equal({ prefix: "Qwen-Q4_K_M", index: 2, count: 3 });
    expect(splitPartPaths("/m/Qwen-Q4_K_M-00002-of-00003.gguf")).to.deep.equal([
      "/m/Qwen-Q4_K_M-00001-of-00003.gguf",
      "/m/Qwen-Q4_K_M-00002-of-00003.gguf",
      "/m/Qwen-Q4_K_M-00003-of-00003.gguf",
    ]);
    expect(splitPartPaths("/m/plain.gguf")).to.deep.equal(["/m/plain.gguf"]);
  });

  it("names an import after its file, and accepts only sensible names", () => {
    expect(defaultModelName("/d/Llama-3.2-1B-Instruct-Q4_K_M.gguf")).to.equal("Llama-3.2-1B-Instruct-Q4_K_M");
    expect(defaultModelName("/d/big model-00001-of-00002.gguf")).to.equal("big-model");
    expect(normaliseModelName("terse:latest")).to.equal("terse");
    expect(normaliseModelName("hf.co/org/repo:Q8_0")).to.equal("hf.co/org/repo:Q8_0");
    for (const bad of ["", " ", "-x", "a b", "../etc", "x".repeat(257)]) expect(normaliseModelName(bad), bad).to.equal(undefined);
  });
});
