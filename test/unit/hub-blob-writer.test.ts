import { expect } from "chai";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { DIRECT_IO_ALIGN, alignedSharedMemory } from "../../src/daemon/hub/download/direct-io.js";
import { BlobWriter } from "../../src/daemon/hub/download/blob-writer.js";
import { writerThreads } from "../../src/daemon/hub/download/writer-threads.js";
import { makeTempHome } from "../helpers/temp-home.js";

const KiB = 1024;

describe("hub blob writer", () => {
  let tmp: { home: string; cleanup: () => void };
  let file: string;
  const content = crypto.randomBytes(700 * KiB + 123);
  const sha256 = crypto.createHash("sha256").update(content).digest("hex");

  beforeEach(() => {
    tmp = makeTempHome("mlxm-blob-writer-");
    file = path.join(tmp.home, "partial");
    fs.writeFileSync(file, Buffer.alloc(0));
    fs.truncateSync(file, content.length);
  });
  afterEach(() => tmp.cleanup());

  /** Content [start, end) in a batch of the kind the range client hands over (shared memory). */
  const sharedBatch = (start: number, end: number): Buffer => {
    const b = Buffer.from(new SharedArrayBuffer(end - start));
    content.copy(b, 0, start, end);
    return b;
  };

  const copyToShared = (bytes: Buffer): Buffer => {
    const b = Buffer.from(new SharedArrayBuffer(bytes.length));
    bytes.copy(b);
    return b;
  };

  it("writes out-of-order batches, hashes in-order ones from memory and reads back the rest", async () => {
    const writer = new BlobWriter(file, content.length, { readBlockBytes: 64 * KiB });
    const cut = [0, 100 * KiB, 300 * KiB, 450 * KiB, content.length];
    // Last piece first, then the first (in order), then the middle ones from the back.
    for (const i of [3, 0, 2, 1]) await writer.write(sharedBatch(cut[i], cut[i + 1]), cut[i + 1] - cut[i], cut[i]);
    const digests = await writer.finish();
    expect(digests.sha256).to.equal(sha256);
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
    expect(writer.stats.hashedInMemory).to.be.at.least(100 * KiB);
    expect(writer.stats.hashedInMemory + writer.stats.readBack).to.equal(content.length);
  });

  it("through the page cache, keeps batches that arrive ahead within the window, hands back spares, and hashes everything from memory", async () => {
    const writer = new BlobWriter(file, content.length, { hashWindowBytes: 1024 * KiB, directIo: false });
    const cut = [0, 100 * KiB, 300 * KiB, 450 * KiB, content.length];
    const kept: Buffer[] = [];
    for (const i of [2, 3, 1]) {
      const batch = sharedBatch(cut[i], cut[i + 1]);
      const replacement = await writer.write(batch, batch.length, cut[i]);
      expect(replacement?.length).to.equal(batch.length);
      expect(replacement?.buffer).to.be.instanceOf(SharedArrayBuffer);
      kept.push(batch);
    }
    // In order: hashed while written, not kept; the kept ones follow from memory.
    expect(await writer.write(sharedBatch(0, cut[1]), cut[1], 0)).to.equal(undefined);
    const digests = await writer.finish();
    expect(digests.sha256).to.equal(sha256);
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
    expect(writer.stats).to.include({ hashedInMemory: content.length, readBack: 0 });
  });

  it("hands out reusable batches cut from shared slabs, reused only once released, and writes them all correctly", async () => {
    // Through the page cache, so batches are kept and handed back as they are hashed.
    const writer = new BlobWriter(file, content.length, { hashWindowBytes: 1024 * KiB, directIo: false });
    const size = 64 * KiB;
    const a = writer.acquire(size);
    const b = writer.acquire(size);
    // Two batches from one slab: both shared memory, same backing buffer, no overlap.
    expect(a.buffer).to.be.instanceOf(SharedArrayBuffer);
    expect(b.buffer).to.equal(a.buffer);
    expect(b.byteOffset).to.be.at.least(a.byteOffset + size);
    writer.release(Buffer.from(new SharedArrayBuffer(size))); // not one of its own: ignored
    expect(writer.acquire(size)).to.not.equal(a);
    writer.release(a);
    expect(writer.acquire(size)).to.equal(a);
    // Write the whole file through one recycled pair of slab batches, out of order: bytes and digest come out right.
    const starts = Array.from({ length: Math.ceil(content.length / size) }, (_, i) => i * size).reverse();
    let batch = a;
    for (const start of starts) {
      const n = Math.min(size, content.length - start);
      content.copy(batch, 0, start, start + n);
      const replacement = await writer.write(batch, n, start);
      if (replacement) batch = replacement; // kept until the hash reaches it: fill the replacement next
    }
    const digests = await writer.finish();
    expect(digests.sha256).to.equal(sha256);
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
  });

  it("hashes from memory a batch that follows bytes still to be read back, so only the batch that came ahead is read back", async () => {
    const writer = new BlobWriter(file, content.length, { readBlockBytes: 64 * KiB });
    const cut = [0, 100 * KiB, 200 * KiB, 300 * KiB, 400 * KiB, content.length];
    const write = (i: number) => writer.write(sharedBatch(cut[i], cut[i + 1]), cut[i + 1] - cut[i], cut[i]);
    // A connection ahead of the hash delivers [200K, 300K) and it is written; then the one behind it catches up and
    // goes on past it: [300K, ...) follows bytes that arrived, though they are not hashed yet.
    await write(2);
    await Promise.all([write(0), write(1), write(3), write(4)]);
    const digests = await writer.finish();
    expect(digests.sha256).to.equal(sha256);
    expect(writer.stats.readBack).to.equal(cut[3] - cut[2]);
    expect(writer.stats.hashedInMemory).to.equal(content.length - (cut[3] - cut[2]));
  });

  it("reads back a batch the prefix reached while it was being written", async () => {
    const writer = new BlobWriter(file, content.length, { hashWindowBytes: 0 });
    // Sent together: the worker takes both messages before the first write completes.
    const ahead = writer.write(sharedBatch(100 * KiB, content.length), content.length - 100 * KiB, 100 * KiB);
    const first = writer.write(sharedBatch(0, 100 * KiB), 100 * KiB, 0);
    await Promise.all([ahead, first]);
    expect((await writer.finish()).sha256).to.equal(sha256);
  });

  it("hashes bytes already in the file (a resume), copies batches from ordinary memory, and computes the git blob id", async () => {
    fs.writeFileSync(file, Buffer.concat([content.subarray(0, 200 * KiB), Buffer.alloc(content.length - 200 * KiB)]));
    const writer = new BlobWriter(file, content.length, { gitSha1: true, written: [[0, 200 * KiB]] });
    const rest = Buffer.from(content.subarray(200 * KiB));
    await writer.write(rest, rest.length, 200 * KiB);
    const digests = await writer.finish();
    const gitSha1 = crypto.createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
    expect(digests).to.deep.equal({ sha256, gitSha1 });
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
  });

  it("fails to finish when bytes are missing, and rejects writes after it stopped", async () => {
    const writer = new BlobWriter(file, content.length);
    await writer.write(sharedBatch(0, 100 * KiB), 100 * KiB, 0);
    let error: unknown;
    try {
      await writer.finish();
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/hashed 102400 of 716923 bytes/);
    error = undefined;
    try {
      await writer.write(sharedBatch(0, 10), 10, 0);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(Error);
  });

  /** Whether the file system under the test's temp dir takes O_DIRECT (ext4 does; tmpfs only on newer kernels). */
  const directIoWorks = (): boolean => {
    if (!fs.constants.O_DIRECT) return false;
    try {
      fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_DIRECT));
      return true;
    } catch {
      return false;
    }
  };

  /** Write the whole file from the writer's own batches of `size`, out of order; returns the writer, finished. */
  const writeAllThrough = async (writer: BlobWriter, size: number): Promise<string> => {
    let batch = writer.acquire(size);
    for (let start = Math.floor((content.length - 1) / size) * size; start >= 0; start -= size) {
      const n = Math.min(size, content.length - start);
      content.copy(batch, 0, start, start + n);
      batch = (await writer.write(batch, n, start)) ?? batch;
    }
    return (await writer.finish()).sha256;
  };

  it("hands out page-aligned shared memory", () => {
    const { buffer, aligned } = alignedSharedMemory(1024 * KiB);
    expect(buffer).to.be.instanceOf(SharedArrayBuffer);
    expect(buffer.byteLength).to.equal(1024 * KiB);
    expect(aligned).to.equal(true);
    // Not a multiple of WebAssembly's 64 KiB page: ordinary shared memory, not claimed to be aligned.
    expect(alignedSharedMemory(1000).aligned).to.equal(false);
  });

  it("writes aligned batches past the page cache (O_DIRECT) and the unaligned tail through it, with the same bytes", async function () {
    if (!directIoWorks()) this.skip();
    const writer = new BlobWriter(file, content.length, { hashWindowBytes: 1024 * KiB });
    expect(await writeAllThrough(writer, 64 * KiB)).to.equal(sha256);
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
    // Every whole page went past the cache; only the file's last partial page went through it.
    const alignedBytes = content.length - (content.length % DIRECT_IO_ALIGN);
    expect(writer.stats.writtenDirect).to.equal(alignedBytes);
    // Nothing kept in memory, window or not: every batch that arrived ahead was read back from the device (the last
    // one, written first, was hashed as it was written only if the prefix had reached it).
    expect(writer.stats.readBack).to.be.above(content.length - 128 * KiB);
    expect(writer.stats.readBackDirect).to.equal(writer.stats.readBack);
    expect(writer.stats.hashedInMemory + writer.stats.readBack).to.equal(content.length);
  });

  it("reads back past the page cache from a prefix that ends inside a page, and bytes already in the file", async function () {
    if (!directIoWorks()) this.skip();
    // A resume: the first 5,000 bytes are on disk already (read back from byte 0); batches of odd sizes then leave
    // the hashed prefix at 9,001, inside a page, where the read-back of the rest starts.
    fs.writeFileSync(file, Buffer.concat([content.subarray(0, 5000), Buffer.alloc(content.length - 5000)]));
    const writer = new BlobWriter(file, content.length, { written: [[0, 5000]], readBlockBytes: 64 * KiB });
    await writer.write(sharedBatch(9001, content.length), content.length - 9001, 9001);
    await writer.write(sharedBatch(5000, 9001), 4001, 5000);
    expect((await writer.finish()).sha256).to.equal(sha256);
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
    expect(writer.stats.readBackDirect).to.equal(writer.stats.readBack);
    expect(writer.stats.readBack).to.be.at.least(content.length - 9001);
  });

  it("writes through the page cache when told to, and for batches that are not its own aligned ones", async () => {
    const off = new BlobWriter(file, content.length, { hashWindowBytes: 1024 * KiB, directIo: false });
    expect(await writeAllThrough(off, 64 * KiB)).to.equal(sha256);
    expect(off.stats.writtenDirect).to.equal(0);
    fs.truncateSync(file, 0);
    fs.truncateSync(file, content.length);
    // Batches in memory the writer did not hand out (their address is unknown): through the page cache, never EINVAL.
    const foreign = new BlobWriter(file, content.length);
    const cut = [0, 64 * KiB, 256 * KiB, content.length];
    for (let i = 0; i < 3; i++) await foreign.write(sharedBatch(cut[i], cut[i + 1]), cut[i + 1] - cut[i], cut[i]);
    expect((await foreign.finish()).sha256).to.equal(sha256);
    expect(foreign.stats.writtenDirect).to.equal(0);
    expect(fs.readFileSync(file).equals(content)).to.equal(true);
  });

  it("closes its files whether it finishes or is abandoned", async function () {
    if (!fs.existsSync("/proc/self/fd")) this.skip();
    const openFds = () => fs.readdirSync("/proc/self/fd").length;
    // An idle writer thread has descriptors of its own (its event loop's): count without any.
    await writerThreads.close();
    const before = openFds();
    const finished = new BlobWriter(file, content.length);
    await finished.write(sharedBatch(0, content.length), content.length, 0);
    await finished.finish();
    const abandoned = new BlobWriter(file, content.length);
    await abandoned.write(sharedBatch(0, 100 * KiB), 100 * KiB, 0);
    await abandoned.close();
    expect(openFds()).to.equal(before);
  });

  it("hands a finished file's thread to the next file, and stops an abandoned file's", async () => {
    await writerThreads.close();
    const files = [0, 1, 2].map((i) => {
      const bytes = crypto.randomBytes(content.length);
      return { bytes, sha256: crypto.createHash("sha256").update(bytes).digest("hex") };
    });
    for (const [i, f] of files.entries()) {
      const writer = new BlobWriter(file, f.bytes.length);
      expect(writerThreads.idle, `file ${i} took the idle thread`).to.equal(0);
      // Out of order, so each file also reads back on the reused thread.
      const half = 128 * KiB;
      await writer.write(copyToShared(f.bytes.subarray(half)), f.bytes.length - half, half);
      await writer.write(copyToShared(f.bytes.subarray(0, half)), half, 0);
      expect((await writer.finish()).sha256, `file ${i}`).to.equal(f.sha256);
      expect(writerThreads.idle, `file ${i}'s thread is kept`).to.equal(1);
    }
    const abandoned = new BlobWriter(file, content.length);
    await abandoned.write(sharedBatch(0, 100 * KiB), 100 * KiB, 0);
    await abandoned.close();
    expect(writerThreads.idle).to.equal(0);
    writerThreads.warm();
    expect(writerThreads.idle).to.equal(1);
    await writerThreads.close();
  });
});
