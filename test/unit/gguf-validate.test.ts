import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidModelError } from "../../src/daemon/engine/errors.js";
import {
  assertValidGguf,
  encodeGguf,
  ggufValue,
  memorySource,
  readGgufHeader,
  readValidGgufFile,
  tinyLlamaSpec,
  validateGguf,
  type GgufFileInfo,
  type GgufMetadataValue,
  type GgufSpec,
  type GgufTensorSpec,
} from "../../src/daemon/engine/gguf/index.js";
import { rejection } from "../helpers/rejection.js";

const ABORTS = "(llama.cpp aborts the process without it)";

const read = (spec: GgufSpec) => readGgufHeader(memorySource(encodeGguf(spec)));

function withoutKey(spec: GgufSpec, key: string): GgufSpec {
  const metadata = { ...spec.metadata };
  delete metadata[key];
  return { ...spec, metadata };
}

function withKey(spec: GgufSpec, key: string, value: GgufMetadataValue): GgufSpec {
  return { ...spec, metadata: { ...spec.metadata, [key]: value } };
}

function withTensor(spec: GgufSpec, name: string, dims: number[] | undefined): GgufSpec {
  const tensors: GgufTensorSpec[] = [];
  for (const tensor of spec.tensors) {
    if (tensor.name !== name) tensors.push(tensor);
    else if (dims) tensors.push({ ...tensor, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
  }
  return { ...spec, tensors };
}

/** The same model under another architecture name: every `llama.*` key renamed. */
function asArchitecture(spec: GgufSpec, arch: string): GgufSpec {
  const metadata = Object.fromEntries(
    Object.entries(spec.metadata).map(([key, value]) => [key.replace(/^llama\./, `${arch}.`), value]),
  );
  return { ...spec, metadata: { ...metadata, "general.architecture": ggufValue.string(arch) } };
}

describe("gguf validation", () => {
  const tiny = tinyLlamaSpec({ seed: 1 });

  it("accepts the generated tiny model in every tensor type", async () => {
    for (const tensorType of ["F32", "F16", "Q8_0"] as const) {
      expect(validateGguf(await read(tinyLlamaSpec({ tensorType })))).to.deep.equal([]);
    }
  });

  it("rejects a llama model without attention.head_count, which would abort llama.cpp", async () => {
    const info = await read(withoutKey(tiny, "llama.attention.head_count"));
    const problems = validateGguf(info);
    expect(problems).to.deep.equal([`missing metadata key "llama.attention.head_count" ${ABORTS}`]);
    expect(() => assertValidGguf(info)).to.throw(
      InvalidModelError,
      /invalid model: missing metadata key "llama.attention.head_count"/,
    );
  });

  it("rejects a llama model without feed_forward_length, which would abort llama.cpp", async () => {
    const problems = validateGguf(await read(withoutKey(tiny, "llama.feed_forward_length")));
    expect(problems).to.deep.equal([`missing metadata key "llama.feed_forward_length" ${ABORTS}`]);
  });

  it("rejects a missing or mistyped required key, naming it", async () => {
    for (const key of [
      "general.architecture",
      "llama.context_length",
      "llama.embedding_length",
      "llama.block_count",
      "llama.attention.layer_norm_rms_epsilon",
      "tokenizer.ggml.model",
      "tokenizer.ggml.tokens",
    ]) {
      const problems = validateGguf(await read(withoutKey(tiny, key)));
      expect(problems.join("\n")).to.contain(`missing metadata key "${key}"`);
    }
    const mistyped = validateGguf(await read(withKey(tiny, "llama.block_count", ggufValue.string("2"))));
    expect(mistyped).to.deep.equal(['metadata key "llama.block_count" has the wrong type (string)']);
  });

  it("rejects a wrong tensor shape and a missing tensor, naming the tensor and both shapes", async () => {
    const wrong = validateGguf(await read(withTensor(tiny, "blk.0.attn_q.weight", [64, 32])));
    expect(wrong).to.deep.equal(['tensor "blk.0.attn_q.weight" has shape [64, 32], expected [64, 64]']);

    const transposed = validateGguf(await read(withTensor(tiny, "token_embd.weight", [502, 64])));
    expect(transposed).to.deep.equal(['tensor "token_embd.weight" has shape [502, 64], expected [64, 502]']);

    const missing = validateGguf(await read(withTensor(tiny, "blk.1.ffn_down.weight", undefined)));
    expect(missing).to.deep.equal(['missing tensor "blk.1.ffn_down.weight"']);

    // output.weight is optional (llama.cpp falls back to token_embd), but if present its shape must fit.
    expect(validateGguf(await read(withTensor(tiny, "output.weight", undefined)))).to.deep.equal([]);
  });

  it("checks head counts against the embedding width", async () => {
    const odd = validateGguf(await read(withKey(tiny, "llama.attention.head_count", ggufValue.uint32(3))));
    expect(odd[0]).to.equal("llama.embedding_length (64) is not divisible by llama.attention.head_count (3)");
    const gqa = validateGguf(await read(withKey(tiny, "llama.attention.head_count_kv", ggufValue.uint32(3))));
    expect(gqa[0]).to.equal("llama.attention.head_count (4) is not a multiple of llama.attention.head_count_kv (3)");
    // Per-layer arrays are valid GGUF; a wrong length is not.
    const perLayer = await read(withKey(tiny, "llama.attention.head_count", ggufValue.int32Array([4, 4])));
    expect(validateGguf(perLayer)).to.deep.equal([]);
    const badLength = validateGguf(await read(withKey(tiny, "llama.attention.head_count", ggufValue.int32Array([4]))));
    expect(badLength[0]).to.match(/has 1 entries, expected one per layer \(2\)/);
  });

  it("rejects tokenizer arrays llama.cpp would index out of bounds", async () => {
    const problems = validateGguf(await read(withKey(tiny, "tokenizer.ggml.scores", ggufValue.float32Array([0, 0]))));
    expect(problems).to.deep.equal(["tokenizer.ggml.scores has 2 entries but there are 502 tokens"]);
    const empty = validateGguf(await read(withKey(tiny, "tokenizer.ggml.tokens", ggufValue.stringArray([]))));
    expect(empty).to.include("tokenizer.ggml.tokens is empty");
  });

  it("checks the generic keys of other architectures without demanding llama's", async () => {
    const qwen = asArchitecture(tiny, "qwen2");
    expect(validateGguf(await read(qwen))).to.deep.equal([]);
    expect(validateGguf(await read(withoutKey(qwen, "qwen2.attention.head_count")))).to.deep.equal([
      `missing metadata key "qwen2.attention.head_count" ${ABORTS}`,
    ]);
    // llama-only requirements are not imposed on other architectures.
    expect(validateGguf(await read(withoutKey(qwen, "qwen2.attention.layer_norm_rms_epsilon")))).to.deep.equal([]);
    // An architecture without attention heads (e.g. a state-space model) is not asked for them.
    const mamba = withoutKey(
      withoutKey(asArchitecture(tiny, "mamba"), "mamba.attention.head_count"),
      "mamba.feed_forward_length",
    );
    expect(validateGguf(await read(mamba))).to.deep.equal([]);
    const noBlocks = validateGguf(await read(withoutKey(mamba, "mamba.block_count")));
    expect(noBlocks).to.deep.equal(['missing metadata key "mamba.block_count"']);
    // Hybrids (e.g. lfm2) give non-attention layers 0 KV heads: valid, not a head-count mismatch.
    const hybrid = withKey(asArchitecture(tiny, "lfm2"), "lfm2.attention.head_count_kv", ggufValue.int32Array([0, 2]));
    expect(validateGguf(await read(hybrid))).to.deep.equal([]);
  });

  it("rejects tensor data outside the file, misaligned or of an unknown type", async () => {
    const info = await read(tiny);
    const truncated: GgufFileInfo = { ...info, fileSize: info.fileSize - 1000 };
    expect(validateGguf(truncated)).to.have.length(1);
    expect(validateGguf(truncated)[0]).to.match(
      /tensor "blk.1.ffn_down.weight" data ends at byte \d+, past the end of the file \(\d+ bytes\): the file is trunc/,
    );

    const shifted: GgufFileInfo = {
      ...info,
      tensors: info.tensors.map((t, i) => (i === 3 ? { ...t, offset: t.offset + 8, fileOffset: t.fileOffset + 8 } : t)),
    };
    expect(validateGguf(shifted)).to.deep.include.members([
      `tensor "blk.0.attn_norm.weight" data offset ${info.tensors[3].offset + 8} is not aligned to 32 bytes`,
    ]);

    const unknown: GgufFileInfo = {
      ...info,
      tensors: info.tensors.map((t, i) => (i === 0 ? { ...t, type: 99, typeName: "type_99" } : t)),
    };
    expect(validateGguf(unknown)[0]).to.equal('tensor "token_embd.weight" has an unknown type type_99 (id 99)');
  });

  it("reads and validates a file in one call, failing on a truncated file or wrong magic", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlxm-gguf-"));
    try {
      const bytes = encodeGguf(tiny);
      const path = join(dir, "m.gguf");
      await writeFile(path, bytes);
      expect((await readValidGgufFile(path)).tensors).to.have.length(21);

      await writeFile(path, bytes.subarray(0, bytes.length - 5000));
      const truncated = await rejection(readValidGgufFile(path), InvalidModelError);
      expect(truncated.code).to.equal("invalid_model");
      expect(truncated.message).to.match(/invalid model: tensor ".*" data ends at byte \d+, past the end of the file/);
      expect(truncated.details).to.deep.equal({ problems: truncated.problems });

      await writeFile(path, Buffer.concat([Buffer.from("PK\x03\x04"), bytes.subarray(4)]));
      const magic = await rejection(readValidGgufFile(path), InvalidModelError);
      expect(magic.message).to.match(/not a GGUF file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
