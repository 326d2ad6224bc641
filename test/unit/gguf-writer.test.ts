import { expect } from "chai";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BENCH_60M_PRESET,
  buildTinyVocab,
  decodeTensorValues,
  encodeGguf,
  generateTinyLlama,
  ggufValue,
  memorySource,
  readGgufHeader,
  tinyLlamaParameterCount,
  writeGguf,
  writeTinyLlama,
  type GgufSpec,
} from "../../src/daemon/engine/gguf/index.js";
import { float16BitsToFloat32, float32ToFloat16Bits } from "../../src/daemon/engine/gguf/tensor-encoding.js";

function ramp(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);
}

const SPEC: GgufSpec = {
  metadata: {
    "general.architecture": ggufValue.string("test"),
    "test.u8": ggufValue.uint8(255),
    "test.i8": ggufValue.int8(-128),
    "test.u16": ggufValue.uint16(65535),
    "test.i16": ggufValue.int16(-32768),
    "test.u32": ggufValue.uint32(4294967295),
    "test.i32": ggufValue.int32(-2147483648),
    "test.f32": ggufValue.float32(0.5),
    "test.f64": ggufValue.float64(Math.PI),
    "test.u64": ggufValue.uint64(2n ** 63n + 5n),
    "test.i64": ggufValue.int64(-(2n ** 62n)),
    "test.bool": ggufValue.bool(true),
    "test.string": ggufValue.string("héllo ▁ wörld 🦙"),
    "test.empty": ggufValue.string(""),
    "test.strings": ggufValue.stringArray(["a", "", "<0xFF>", "▁the"]),
    "test.ints": ggufValue.int32Array([1, -2, 3]),
    "test.floats": ggufValue.float32Array([0.25, -1.5]),
    "test.empty_array": ggufValue.int32Array([]),
  },
  tensors: [
    { name: "a.f32", dims: [4, 3], type: "F32", data: ramp(12) },
    { name: "b.f16", dims: [5], type: "F16", data: ramp(5, 3) },
    {
      name: "c.q8",
      dims: [64, 2],
      type: "Q8_0",
      // Two chunks of one row each: data may be streamed.
      data: function* () {
        yield ramp(64, 2);
        yield ramp(64, 0.1);
      },
    },
  ],
};

describe("gguf writer", () => {
  it("round-trips every metadata value type, tensor infos and tensor data through the reader", async () => {
    const bytes = encodeGguf(SPEC);
    const info = await readGgufHeader(memorySource(bytes));

    expect(info.version).to.equal(3);
    expect(info.fileSize).to.equal(bytes.length);
    expect(info.alignment).to.equal(32);
    expect(info.dataOffset % 32).to.equal(0);
    expect([...info.metadata.entries()]).to.deep.equal([
      ...Object.entries(SPEC.metadata),
      ["general.alignment", { type: "uint32", value: 32 }],
    ]);

    expect(info.tensors.map((t) => [t.name, t.dims, t.typeName])).to.deep.equal([
      ["a.f32", [4, 3], "F32"],
      ["b.f16", [5], "F16"],
      ["c.q8", [64, 2], "Q8_0"],
    ]);
    expect(info.tensors.map((t) => t.byteSize)).to.deep.equal([48, 10, 4 * 34]);
    // Consecutive and aligned, as llama.cpp requires.
    expect(info.tensors.map((t) => t.offset)).to.deep.equal([0, 64, 96]);
    expect(bytes.length).to.equal(info.dataOffset + 96 + 160);

    const tensorBytes = (i: number) => {
      const { fileOffset, byteSize } = info.tensors[i];
      return bytes.subarray(fileOffset, fileOffset + byteSize!);
    };
    expect([...decodeTensorValues("F32", tensorBytes(0), 12)]).to.deep.equal([...ramp(12)]);
    const f16 = decodeTensorValues("F16", tensorBytes(1), 5);
    ramp(5, 3).forEach((v, i) => expect(f16[i]).to.be.closeTo(v, 2e-3));
    const q8 = decodeTensorValues("Q8_0", tensorBytes(2), 128);
    const expected = [...ramp(64, 2), ...ramp(64, 0.1)];
    expected.forEach((v, i) => expect(q8[i]).to.be.closeTo(v, (i < 64 ? 2 : 0.1) / 127));
  });

  it("streams to a file byte-identical to the in-memory encoding, leaving no temporary file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlxm-gguf-"));
    try {
      const path = join(dir, "model.gguf");
      const { bytes } = await writeGguf(path, SPEC);
      const written = await readFile(path);
      expect(written.equals(Buffer.from(encodeGguf(SPEC)))).to.equal(true);
      expect(bytes).to.equal(written.length);
      expect(await readdir(dir)).to.deep.equal(["model.gguf"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses an inconsistent spec instead of writing a broken file", async () => {
    const tensor = SPEC.tensors[0];
    expect(() => encodeGguf({ metadata: {}, tensors: [{ ...tensor, dims: [4, 4] }] })).to.throw(/got 12 values/);
    const q8 = { metadata: {}, tensors: [{ ...tensor, dims: [12], type: "Q8_0" }] } satisfies GgufSpec;
    expect(() => encodeGguf(q8)).to.throw(/multiples of 32/);
    expect(() => encodeGguf({ metadata: {}, tensors: [tensor, tensor] })).to.throw(/duplicate tensor/);
    expect(() => encodeGguf({ metadata: { k: ggufValue.uint32(-1) }, tensors: [] })).to.throw(/"k".*uint32/);
    expect(() => encodeGguf({ metadata: { k: ggufValue.uint8(1.5) }, tensors: [] })).to.throw(/"k"/);

    const dir = await mkdtemp(join(tmpdir(), "mlxm-gguf-"));
    try {
      const bad = { metadata: {}, tensors: [{ ...tensor, dims: [4, 4] }] } satisfies GgufSpec;
      await writeGguf(join(dir, "bad.gguf"), bad).then(
        () => expect.fail("should have thrown"),
        (error: Error) => expect(error.message).to.match(/got 12 values/),
      );
      expect(await readdir(dir)).to.deep.equal([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("converts to half precision with round-to-nearest-even, subnormals, overflow and NaN", () => {
    expect(float32ToFloat16Bits(1)).to.equal(0x3c00);
    expect(float32ToFloat16Bits(-2)).to.equal(0xc000);
    expect(float32ToFloat16Bits(65504)).to.equal(0x7bff);
    expect(float32ToFloat16Bits(65520)).to.equal(0x7c00); // rounds up to infinity
    expect(float32ToFloat16Bits(1e6)).to.equal(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).to.equal(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -26)).to.equal(0x0000);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).to.equal(0x3c00); // tie, to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).to.equal(0x3c02); // tie, to even (up)
    expect(float32ToFloat16Bits(-0)).to.equal(0x8000);
    expect(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN))).to.be.NaN;
    for (let bits = 0; bits < 0x7c00; bits += 7) {
      expect(float32ToFloat16Bits(float16BitsToFloat32(bits))).to.equal(bits);
    }
  });
});

describe("tiny llama generation", () => {
  it("is deterministic: the same seed gives identical bytes, another seed different weights", () => {
    const a = Buffer.from(generateTinyLlama({ seed: 7 }));
    const b = Buffer.from(generateTinyLlama({ seed: 7 }));
    const c = Buffer.from(generateTinyLlama({ seed: 8 }));
    expect(a.equals(b)).to.equal(true);
    expect(c.length).to.equal(a.length);
    expect(c.equals(a)).to.equal(false);
  });

  it("streams to a file the same bytes it generates in memory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlxm-gguf-"));
    try {
      const options = { seed: 3, tensorType: "Q8_0" } as const;
      await writeTinyLlama(join(dir, "m.gguf"), options);
      expect((await readFile(join(dir, "m.gguf"))).equals(Buffer.from(generateTinyLlama(options)))).to.equal(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("builds a byte-fallback SentencePiece vocabulary, padded to a requested size with unique pieces", () => {
    const vocab = buildTinyVocab();
    expect(vocab.slice(0, 5).map((t) => t.piece)).to.deep.equal(["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]);
    const bytes = vocab.filter((t) => t.type === "byte").map((t) => t.piece);
    expect(bytes).to.have.length(256);
    expect(bytes[0]).to.equal("<0x00>");
    expect(bytes[255]).to.equal("<0xFF>");
    const big = buildTinyVocab(32000);
    expect(big).to.have.length(32000);
    expect(new Set(big.map((t) => t.piece)).size).to.equal(32000);
    expect(() => buildTinyVocab(10)).to.throw(/vocabSize/);
  });

  it("sizes the benchmark preset at about 60M parameters", () => {
    const count = tinyLlamaParameterCount(BENCH_60M_PRESET);
    expect(count).to.be.within(58e6, 62e6);
  });

  it("rejects impossible shapes", () => {
    expect(() => generateTinyLlama({ nEmbd: 60, nHead: 8 })).to.throw(/divisible by nHead/);
    expect(() => generateTinyLlama({ nHead: 4, nHeadKv: 3 })).to.throw(/nHeadKv/);
    expect(() => generateTinyLlama({ nEmbd: 48, nHead: 4, tensorType: "Q8_0" })).to.throw(/multiples of 32/);
  });
});
