import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { encodeGguf, ggufValue, readGgufFile, tinyLlamaSpec, type GgufSpec } from "../../src/daemon/engine/gguf/index.js";
import { modelFileParts, toLlamaGgufFileInfo } from "../../src/daemon/engine/llama-gguf-info.js";
import { splitTinyLlama } from "../helpers/split-model.js";

/** What the loader gives GgufInsights: mlxm's reader over every part, converted. */
async function converted(path: string) {
  const parts = await Promise.all(modelFileParts(path).map((part) => readGgufFile(part)));
  return toLlamaGgufFileInfo(path, parts);
}

describe("node-llama-cpp's GgufFileInfo from mlxm's reader", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlxm-llama-gguf-info-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function same(name: string, spec: GgufSpec): Promise<void> {
    const path = join(dir, name);
    await writeFile(path, encodeGguf(spec));
    expect(await converted(path)).to.deep.equal(await readGgufFileInfo(path, { logWarnings: false }));
  }

  it("equals readGgufFileInfo for the generated model in every tensor type", async () => {
    for (const tensorType of ["F32", "F16", "Q8_0"] as const) await same(`tiny-${tensorType}.gguf`, tinyLlamaSpec({ tensorType }));
  });

  it("equals readGgufFileInfo for every value type, another alignment and keys that are also prefixes", async () => {
    const tiny = tinyLlamaSpec({ seed: 3 });
    await same("values.gguf", {
      ...tiny,
      alignment: 64,
      metadata: {
        ...tiny.metadata,
        "test.u64": ggufValue.uint64(2n ** 60n),
        "test.i64": ggufValue.int64(-5),
        "test.f64": ggufValue.float64(0.1),
        "test.f32": ggufValue.float32(0.1),
        "test.bool": ggufValue.bool(true),
        "test.u8": ggufValue.uint8(255),
        "test.i16": ggufValue.int16(-2),
        "test.u64s": { type: "array", itemType: "uint64", value: [1n, 2n ** 62n] },
        "test.é ü": ggufValue.string("naïve ✓"),
        // A value key that is a prefix of later keys, and the reverse order.
        "a.b": ggufValue.uint32(1),
        "a.b.c": ggufValue.uint32(2),
        "a.b.c.d": ggufValue.uint32(3),
        "x.y.z": ggufValue.uint32(4),
        "x.y": ggufValue.uint32(5),
        "general.license": ggufValue.string("mit"),
        "general.license.link": ggufValue.string("https://example.com"),
        "tokenizer.chat_template.tool_use": ggufValue.string("{{ tools }}"),
        "7": ggufValue.uint32(7),
      },
    });
  });

  it("equals readGgufFileInfo for a split model, read part by part", async () => {
    const parts = splitTinyLlama(3, { seed: 4 });
    const paths = parts.map((_, i) => join(dir, `split-${String(i + 1).padStart(5, "0")}-of-00003.gguf`));
    for (const [i, bytes] of parts.entries()) await writeFile(paths[i]!, bytes);
    expect(modelFileParts(paths[0]!)).to.deep.equal(paths);
    const ours = await converted(paths[0]!);
    expect(ours.splicedParts).to.equal(3);
    expect(ours).to.deep.equal(await readGgufFileInfo(paths[0]!, { logWarnings: false }));
  });

  it("names the parts of a split model as node-llama-cpp does, and nothing else", () => {
    expect(modelFileParts("/m/a-00002-of-00002.gguf")).to.deep.equal(["/m/a-00001-of-00002.gguf", "/m/a-00002-of-00002.gguf"]);
    expect(modelFileParts("/m/a.gguf")).to.deep.equal(["/m/a.gguf"]);
    expect(modelFileParts("/m/a-00003-of-00002.gguf")).to.deep.equal(["/m/a-00003-of-00002.gguf"]);
    expect(modelFileParts("/blobs/sha256-abc")).to.deep.equal(["/blobs/sha256-abc"]);
  });
});
