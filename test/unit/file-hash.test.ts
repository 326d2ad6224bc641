import { expect } from "chai";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { hashFile } from "../../src/daemon/library/file-hash.js";
import { makeTempHome } from "../helpers/temp-home.js";

describe("hashing a local file, with a copy", () => {
  let tmp: { home: string; cleanup: () => void };
  // Several of the copy's 4 MiB batches and an unaligned tail.
  const content = crypto.randomBytes(9 * 1024 * 1024 + 123);
  const sha256 = crypto.createHash("sha256").update(content).digest("hex");
  let source: string;

  beforeEach(() => {
    tmp = makeTempHome("mlxm-file-hash-");
    source = path.join(tmp.home, "model.gguf");
    fs.writeFileSync(source, content);
  });
  afterEach(() => tmp.cleanup());

  for (const directIo of [true, false]) {
    it(`copies exactly the bytes it hashed, with progress up to the whole size (directIo: ${directIo})`, async () => {
      const copy = path.join(tmp.home, "copy.tmp");
      fs.writeFileSync(copy, "an older, longer file that must not survive the copy".repeat(1000));
      const seen: number[] = [];
      const result = await hashFile(source, { copyTo: copy, directIo, progressIntervalMs: 0, onProgress: (p) => seen.push(p.completed) });
      expect(result).to.deep.equal({ sha256, size: content.length });
      expect(fs.readFileSync(copy).equals(content)).to.equal(true);
      expect(seen[0]).to.equal(0);
      expect(seen.at(-1)).to.equal(content.length);
      expect(seen).to.deep.equal([...seen].sort((a, b) => a - b));
    });
  }

  it("hashes without a copy the same way", async () => {
    expect(await hashFile(source)).to.deep.equal({ sha256, size: content.length });
  });

  it("stops when cancelled, with the signal's reason", async () => {
    const controller = new AbortController();
    const err = await hashFile(source, { copyTo: path.join(tmp.home, "copy.tmp"), signal: controller.signal, onProgress: () => controller.abort() }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error).and.have.property("name", "AbortError");
  });
});
