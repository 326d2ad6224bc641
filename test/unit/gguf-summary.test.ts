import { expect } from "chai";
import {
  CHATML_TEMPLATE,
  encodeGguf,
  formatParameterCount,
  memorySource,
  readGgufHeader,
  summarizeGguf,
  tinyLlamaParameterCount,
  tinyLlamaSpec,
} from "../../src/daemon/engine/gguf/index.js";

describe("gguf summary", () => {
  it("summarises the tiny model for show", async () => {
    const bytes = encodeGguf(tinyLlamaSpec({ tensorType: "Q8_0", name: "tiny-test" }));
    const summary = summarizeGguf(await readGgufHeader(memorySource(bytes)));
    expect(summary).to.deep.equal({
      architecture: "llama",
      name: "tiny-test",
      parameterCount: tinyLlamaParameterCount(),
      parameterSize: "138K",
      quantization: "Q8_0",
      contextLength: 2048,
      embeddingLength: 64,
      blockCount: 2,
      headCount: 4,
      vocabSize: 502,
      hasChatTemplate: true,
      chatTemplate: CHATML_TEMPLATE,
      fileSizeBytes: bytes.length,
      tensorCount: 21,
    });
  });

  it("falls back to the dominant weight type without general.file_type, and omits what the file lacks", async () => {
    const spec = tinyLlamaSpec({ tensorType: "F16" });
    const metadata = { ...spec.metadata };
    for (const key of ["general.file_type", "general.name", "tokenizer.chat_template"]) delete metadata[key];
    const summary = summarizeGguf(await readGgufHeader(memorySource(encodeGguf({ ...spec, metadata }))), 1234);
    expect(summary.quantization).to.equal("F16"); // the F32 norms are 1-D and do not count
    expect(summary.hasChatTemplate).to.equal(false);
    expect(summary).not.to.have.property("chatTemplate");
    expect(summary).not.to.have.property("name");
    expect(summary.fileSizeBytes).to.equal(1234);
  });

  it("formats parameter counts the way model cards do", () => {
    expect(formatParameterCount(999)).to.equal("999");
    expect(formatParameterCount(138_304)).to.equal("138K");
    expect(formatParameterCount(60_039_680)).to.equal("60M");
    expect(formatParameterCount(494_032_768)).to.equal("494M");
    expect(formatParameterCount(1_543_714_304)).to.equal("1.5B");
    expect(formatParameterCount(7_615_616_512)).to.equal("7.6B");
    expect(formatParameterCount(70_553_706_496)).to.equal("71B");
  });
});
