import { expect } from "chai";
import { extractQuant, listGgufCandidates, selectGguf } from "../../src/daemon/hub/pull/gguf-selection.js";
import type { RepoFile } from "../../src/daemon/hub/hf-client.js";
import { GgufSelectionError } from "../../src/daemon/hub/hub-errors.js";

const files = (...paths: string[]): RepoFile[] =>
  paths.map((p, i) => ({ path: p, size: 100 + i, lfs: { sha256: String(i).padStart(64, "0"), size: 100 + i } }));

function selectionError(fn: () => unknown): GgufSelectionError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(GgufSelectionError);
    return err as GgufSelectionError;
  }
  throw new Error("expected a GgufSelectionError");
}

describe("hub GGUF selection", () => {
  it("extracts quant labels from the usual naming styles", () => {
    expect(extractQuant("Llama-3.2-1B-Instruct-Q4_K_M.gguf")).to.equal("Q4_K_M");
    expect(extractQuant("llama-2-7b.Q5_K_S.gguf")).to.equal("Q5_K_S");
    expect(extractQuant("ggml-model-q8_0.gguf")).to.equal("Q8_0");
    expect(extractQuant("model-IQ4_XS.gguf")).to.equal("IQ4_XS");
    expect(extractQuant("model-iq2_xxs.gguf")).to.equal("IQ2_XXS");
    expect(extractQuant("Phi-3-mini-4k-instruct-fp16.gguf")).to.equal("FP16");
    expect(extractQuant("model-BF16-00001-of-00002.gguf")).to.equal("BF16");
    expect(extractQuant("Qwen3-8B-UD-Q4_K_XL.gguf")).to.equal("UD-Q4_K_XL");
    expect(extractQuant("Q4_K_M/Qwen2.5-72B-Instruct-Q4_K_M-00001-of-00003.gguf")).to.equal("Q4_K_M");
    expect(extractQuant("gpt-oss-20b-MXFP4.gguf")).to.equal("MXFP4");
    expect(extractQuant("model.gguf")).to.equal(undefined);
    expect(extractQuant("Qwen2-7B.gguf")).to.equal(undefined);
  });

  it("defaults to Q4_K_M and says so", () => {
    const s = selectGguf(files("README.md", "m-Q8_0.gguf", "m-Q4_K_M.gguf", "m-Q2_K.gguf"));
    expect(s.label).to.equal("Q4_K_M");
    expect(s.candidate.name).to.equal("m-Q4_K_M.gguf");
    expect(s.reason).to.match(/default/);
    expect(s.available).to.deep.equal(["Q4_K_M", "Q8_0", "Q2_K"]);
  });

  it("without Q4_K_M picks the nearest by preference and explains why", () => {
    const s = selectGguf(files("m-Q8_0.gguf", "m-Q5_K_M.gguf", "m-F16.gguf", "m-Q3_K_S.gguf"));
    expect(s.label).to.equal("Q5_K_M");
    expect(s.reason).to.match(/no Q4_K_M.*Q5_K_M/);
    expect(selectGguf(files("m-Q8_0.gguf", "m-F16.gguf")).label).to.equal("Q8_0");
    expect(selectGguf(files("m-BF16.gguf", "m-IQ1_S.gguf")).label).to.equal("BF16");
    expect(selectGguf(files("m-IQ4_XS.gguf", "m-Q4_0.gguf")).label).to.equal("IQ4_XS");
  });

  it("matches a requested quant case-insensitively, and UD- variants by their base", () => {
    expect(selectGguf(files("m-Q4_K_M.gguf", "m-Q8_0.gguf"), { quant: "Q8_0" }).candidate.name).to.equal("m-Q8_0.gguf");
    expect(selectGguf(files("m-q8_0.gguf"), { quant: "Q8_0" }).label).to.equal("Q8_0");
    expect(selectGguf(files("m-UD-Q4_K_XL.gguf"), { quant: "Q4_K_XL" }).label).to.equal("UD-Q4_K_XL");
  });

  it("groups split GGUFs into one logical file with every part in order", () => {
    const { candidates, incomplete } = listGgufCandidates(
      files("big-Q8_0-00002-of-00003.gguf", "big-Q8_0-00001-of-00003.gguf", "big-Q8_0-00003-of-00003.gguf",
        "half-Q4_K_M-00001-of-00002.gguf"),
    );
    expect(candidates).to.have.length(1);
    expect(candidates[0].split).to.equal(true);
    expect(candidates[0].quant).to.equal("Q8_0");
    expect(candidates[0].files.map((f) => f.path)).to.deep.equal([
      "big-Q8_0-00001-of-00003.gguf", "big-Q8_0-00002-of-00003.gguf", "big-Q8_0-00003-of-00003.gguf",
    ]);
    expect(candidates[0].size).to.equal(101 + 100 + 102);
    expect(incomplete).to.deep.equal(["half-Q4_K_M-00001-of-00002.gguf"]);
    // The file option naming any part pulls the whole set.
    const s = selectGguf(files("big-Q8_0-00001-of-00002.gguf", "big-Q8_0-00002-of-00002.gguf"), { file: "big-Q8_0-00002-of-00002.gguf" });
    expect(s.candidate.files).to.have.length(2);
  });

  it("leaves vision projectors and imatrix files out", () => {
    const s = selectGguf(files("mmproj-model-f16.gguf", "model-Q4_K_M.gguf", "imatrix.gguf"));
    expect(s.candidate.name).to.equal("model-Q4_K_M.gguf");
    expect(s.available).to.deep.equal(["Q4_K_M"]);
  });

  it("fails clearly for a repo without GGUF, listing nothing available", () => {
    const err = selectionError(() => selectGguf(files("config.json", "model.safetensors"), { repo: "org/st" }));
    expect(err.code).to.equal("not_found");
    expect(err.message).to.match(/org\/st has no GGUF/);
    expect(err.details).to.deep.include({ reason: "no_gguf", available: [] });
  });

  it("fails for a missing quant with the available ones in details", () => {
    const err = selectionError(() => selectGguf(files("m-Q4_K_M.gguf", "m-Q8_0.gguf"), { quant: "Q6_K", repo: "o/r" }));
    expect(err.code).to.equal("not_found");
    expect(err.message).to.match(/no Q6_K GGUF in o\/r; available: Q4_K_M, Q8_0/);
    expect(err.details?.available).to.deep.equal(["Q4_K_M", "Q8_0"]);
  });

  it("refuses an ambiguous quant and lists the choices", () => {
    const two = files("a-Q4_K_M.gguf", "b-Q4_K_M.gguf", "a-Q8_0.gguf");
    const err = selectionError(() => selectGguf(two, { quant: "q4_k_m".toUpperCase() }));
    expect(err.code).to.equal("bad_request");
    expect(err.details).to.deep.include({ reason: "ambiguous_quant", choices: ["a-Q4_K_M.gguf", "b-Q4_K_M.gguf"] });
    expect(err.details?.available).to.deep.equal(["Q4_K_M", "Q8_0"]);
    // The default is ambiguous the same way; the file option settles it.
    expect(selectionError(() => selectGguf(two)).details?.reason).to.equal("ambiguous_quant");
    expect(selectGguf(two, { file: "b-Q4_K_M.gguf" }).candidate.name).to.equal("b-Q4_K_M.gguf");
  });

  it("handles the file option: exact name, not found, not GGUF, quant conflict; unlabelled names use the stem", () => {
    const repo = files("model.gguf", "m-Q8_0.gguf", "README.md");
    expect(selectGguf(repo, { file: "model.gguf" }).label).to.equal("model");
    expect(selectionError(() => selectGguf(repo, { file: "nope.gguf" })).details?.reason).to.equal("file_not_found");
    expect(selectionError(() => selectGguf(repo, { file: "README.md" })).details?.reason).to.equal("not_gguf");
    expect(selectionError(() => selectGguf(repo, { file: "m-Q8_0.gguf", quant: "Q4_K_M" })).details?.reason).to.equal("quant_file_conflict");
    expect(selectGguf(files("only.gguf")).label).to.equal("only");
  });
});
