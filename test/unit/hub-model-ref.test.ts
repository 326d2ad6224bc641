import { expect } from "chai";
import { InvalidModelRefError } from "../../src/daemon/hub/hub-errors.js";
import { looksLikeHubRef, modelName, parseModelRef, requestKey } from "../../src/daemon/hub/model-ref.js";

describe("hub model references", () => {
  it("parses Ollama's hf.co form with a quant", () => {
    expect(parseModelRef("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:q4_k_m")).to.deep.equal({
      repo: "bartowski/Llama-3.2-1B-Instruct-GGUF", quant: "Q4_K_M", file: undefined, revision: "main",
    });
  });

  it("accepts huggingface.co, URLs, bare org/repo, and :latest as no quant", () => {
    expect(parseModelRef("huggingface.co/org/repo:IQ4_XS").quant).to.equal("IQ4_XS");
    expect(parseModelRef("https://huggingface.co/org/repo").repo).to.equal("org/repo");
    expect(parseModelRef("https://hf.co/org/repo:Q8_0").quant).to.equal("Q8_0");
    expect(parseModelRef("org/repo")).to.deep.include({ repo: "org/repo", quant: undefined, revision: "main" });
    expect(parseModelRef("org/repo:latest").quant).to.equal(undefined);
    expect(parseModelRef("unsloth/Qwen3-8B-GGUF:UD-Q4_K_XL").quant).to.equal("UD-Q4_K_XL");
  });

  it("takes file and revision options, and reads them from a pasted file URL", () => {
    expect(parseModelRef("org/repo", { file: "sub/model-Q8_0.gguf", revision: "v1.0" })).to.deep.equal({
      repo: "org/repo", quant: undefined, file: "sub/model-Q8_0.gguf", revision: "v1.0",
    });
    expect(parseModelRef("https://huggingface.co/org/repo/blob/main/model-Q4_K_M.gguf")).to.deep.include({
      repo: "org/repo", file: "model-Q4_K_M.gguf", revision: "main",
    });
    expect(parseModelRef("org/repo", { revision: "refs/pr/1" }).revision).to.equal("refs/pr/1");
  });

  it("rejects what is not a Hub reference with bad_request", () => {
    for (const bad of ["", "llama3", "a/b/c", "org/repo:", "org/re po", "org/-repo", "org/repo--x", "org/repo..x",
      "hf.co/org", "org/repo:Q4 K", "org/repo.git"]) {
      const fn = () => parseModelRef(bad);
      expect(fn, bad).to.throw(InvalidModelRefError);
      try {
        fn();
      } catch (err) {
        expect((err as InvalidModelRefError).code).to.equal("bad_request");
        expect((err as InvalidModelRefError).status).to.equal(400);
      }
    }
    expect(() => parseModelRef("org/repo", { file: "../etc/passwd" })).to.throw(InvalidModelRefError);
    expect(() => parseModelRef("org/repo", { file: "/abs.gguf" })).to.throw(InvalidModelRefError);
    expect(() => parseModelRef("org/repo", { revision: "a b" })).to.throw(InvalidModelRefError);
  });

  it("names models hf.co/<org>/<repo>:<QUANT> and keys requests case-insensitively on the repo", () => {
    expect(modelName("Org/Repo", "q4_k_m")).to.equal("hf.co/Org/Repo:Q4_K_M");
    expect(requestKey(parseModelRef("hf.co/Org/Repo:q8_0"))).to.equal(requestKey(parseModelRef("org/repo:Q8_0")));
    expect(requestKey(parseModelRef("org/repo:Q8_0"))).to.not.equal(requestKey(parseModelRef("org/repo:Q4_0")));
    expect(looksLikeHubRef("org/repo")).to.equal(true);
    expect(looksLikeHubRef("mlxm-tiny")).to.equal(false);
  });
});
