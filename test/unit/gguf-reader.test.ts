import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidModelError } from "../../src/daemon/engine/errors.js";
import {
  generateTinyLlama,
  memorySource,
  readGgufFile,
  readGgufHeader,
  type GgufFileInfo,
} from "../../src/daemon/engine/gguf/index.js";

/** Reads bytes as a header, returning the InvalidModelError it throws (failing on any other outcome). */
async function readError(bytes: Uint8Array): Promise<InvalidModelError> {
  let info: GgufFileInfo;
  try {
    info = await readGgufHeader(memorySource(bytes));
  } catch (error) {
    expect(error).to.be.instanceOf(InvalidModelError);
    return error as InvalidModelError;
  }
  throw new Error(`expected an InvalidModelError, read ${info.tensors.length} tensors`);
}

/** A little-endian uint64 written into a copy of `bytes` at `offset`. */
function patchU64(bytes: Uint8Array, offset: number, value: bigint): Uint8Array {
  const copy = Buffer.from(bytes);
  copy.writeBigUInt64LE(value, offset);
  return copy;
}

describe("gguf reader", () => {
  const model = generateTinyLlama({ seed: 1 });
  let dataOffset: number;
  let headerEnd: number;

  before(async () => {
    const info = await readGgufHeader(memorySource(model));
    dataOffset = info.dataOffset;
    // The header proper ends somewhere in the alignment padding before the data; stop short of it.
    headerEnd = dataOffset - info.alignment;
  });

  it("rejects a file that is not GGUF, naming an older model format's magic but echoing no other file's bytes", async () => {
    const error = await readError(Buffer.concat([Buffer.from("GGML"), Buffer.from(model).subarray(4)]));
    expect(error.message).to.match(/not a GGUF file: magic is "GGML", expected "GGUF"/);
    expect(error.code).to.equal("invalid_model");
    expect(error.status).to.equal(422);
    expect((await readError(Buffer.from([0x7f, 0x45]))).message).to.match(/only 2 bytes/);
    expect((await readError(Buffer.alloc(0))).message).to.match(/not a GGUF file/);
    const shadow = await readError(Buffer.from("root:$6$secret:19000:0:99999:7:::\n".repeat(8)));
    expect(shadow.message).to.equal('not a GGUF file: it does not start with "GGUF"');
  });

  it("rejects unsupported versions and big-endian files", async () => {
    const withVersion = (bytes: number[]) => Buffer.concat([Buffer.from("GGUF"), Buffer.from(bytes), Buffer.alloc(64)]);
    expect((await readError(withVersion([1, 0, 0, 0]))).message).to.match(/version 1 is not supported/);
    expect((await readError(withVersion([0, 0, 0, 3]))).message).to.match(/big-endian/);
    expect((await readError(withVersion([9, 0, 0, 0]))).message).to.match(/unsupported GGUF version 9/);
  });

  it("fails with a clear error, never a crash, wherever the header is cut off", async () => {
    for (let end = 0; end < headerEnd; end += end < 64 ? 1 : 13) {
      const error = await readError(model.subarray(0, end));
      expect(error.message).to.match(/truncated|not a GGUF file/, `cut at ${end}`);
    }
  });

  it("caps absurd lengths against the file size instead of allocating them", async () => {
    // The first metadata key's length sits right after magic, version and the two counts.
    const longKey = await readError(patchU64(model, 24, 2n ** 40n));
    expect(longKey.message).to.match(
      /corrupt: metadata key #0 claims 1099511627776 bytes at offset 24, past the end of the file/,
    );

    const manyTensors = await readError(patchU64(model, 8, 2n ** 50n));
    expect(manyTensors.message).to.match(/tensor count is 1125899906842624, more than the \d+ bytes left/);

    const manyKeys = await readError(patchU64(model, 16, 2n ** 64n - 1n));
    expect(manyKeys.message).to.match(/metadata key count/);

    // The token list's length: find the key, skip its value type and item type.
    const key = Buffer.from("tokenizer.ggml.tokens");
    const at = Buffer.from(model).indexOf(key) + key.length + 8;
    const manyTokens = await readError(patchU64(model, at, 2n ** 33n));
    expect(manyTokens.message).to.match(/length of array "tokenizer.ggml.tokens" is 8589934592/);
  });

  it("survives random corruption of the header: it parses or throws InvalidModelError, nothing else", async () => {
    let seed = 12345;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 300; i++) {
      const copy = Buffer.from(model.subarray(0, dataOffset + 64));
      for (let j = 0; j < 4; j++) copy[Math.floor(random() * dataOffset)] = Math.floor(random() * 256);
      try {
        await readGgufHeader(memorySource(copy));
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidModelError);
      }
    }
  });

  it("reads from a file, refusing anything that is not a regular file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlxm-gguf-"));
    try {
      const path = join(dir, "m.gguf");
      await writeFile(path, model);
      const info = await readGgufFile(path);
      expect(info.path).to.equal(path);
      expect(info.fileSize).to.equal(model.length);
      expect(info.tensors).to.have.length(21);

      const error = await readGgufFile(dir).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidModelError);
      expect((error as Error).message).to.match(/not a regular file/);

      await writeFile(path, model.subarray(0, 100));
      const truncated = await readGgufFile(path).catch((e: unknown) => e);
      expect(truncated).to.be.instanceOf(InvalidModelError);
      expect((truncated as InvalidModelError).path).to.equal(path);
      expect((truncated as Error).message).to.contain(path).and.match(/truncated/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
