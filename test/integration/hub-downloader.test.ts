import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { downloadBlob, partialPath, type DownloadOptions, type DownloadRequest } from "../../src/daemon/hub/download/downloader.js";
import { HubClient } from "../../src/daemon/hub/hf-client.js";
import {
  DigestMismatchError,
  HubError,
  InsufficientStorageError,
  PullCancelledError,
  RepoNotFoundError,
} from "../../src/daemon/hub/hub-errors.js";
import { progressPathOf, readPartialProgress } from "../../src/daemon/hub/download/partial-progress.js";
import { FakeHub, sha256Hex, testBytes } from "../helpers/fake-hub.js";
import { makeTempHome } from "../helpers/temp-home.js";

const MiB = 1024 * 1024;
const REPO = "org/dl";
const FILE = "f-Q4_K_M.gguf";

describe("hub downloader (fake hub)", function () {
  this.timeout(20_000);
  let hub: FakeHub;
  let tmp: { home: string; cleanup: () => void };
  let blobsDir: string;
  const content = testBytes(6 * MiB + 12_345, 3);
  const sha = sha256Hex(content);

  const request = (): DownloadRequest => ({
    url: `${hub.url}/${REPO}/resolve/main/${FILE}`,
    size: content.length,
    sha256: sha,
    label: FILE,
  });
  const options = (extra: Partial<DownloadOptions> = {}): DownloadOptions => ({
    blobsDir,
    chunkSize: 1 * MiB,
    concurrency: 4,
    retryBaseMs: 5,
    retryMaxMs: 50,
    // Long enough that a loaded machine never looks like a stall; the stall test shortens it.
    stallTimeoutMs: 10_000,
    minSplitBytes: 256 * 1024,
    ...extra,
  });
  const served = () => hub.bytesServed(REPO, FILE);
  /** Bytes each ranged request to the CDN asked for. */
  const cdnRangeSizes = () => hub.log.filter((l) => l.server === "cdn" && l.range).map((l) => rangeSize(l.range!));

  before(async () => {
    hub = await FakeHub.start({ repos: [{ id: REPO, files: [{ path: FILE, content }] }] });
  });
  after(() => hub.close());
  beforeEach(() => {
    tmp = makeTempHome("mlxm-hub-dl-");
    blobsDir = path.join(tmp.home, "blobs");
    hub.resetCounters();
    hub.clearFaults();
    hub.throttleBytesPerSecond = undefined;
  });
  afterEach(() => tmp.cleanup());

  it("downloads parallel ranged chunks through the CDN redirect, verifies, and lands the blob atomically", async () => {
    const progress: number[] = [];
    // One request per chunk (a lone connection the disk holds back would cover several: see the tests below).
    const result = await downloadBlob(request(), options({ coalesceChunks: 1, onProgress: (p) => progress.push(p.completed) }));
    expect(result.digest).to.equal(`sha256:${sha}`);
    expect(result.path).to.equal(path.join(blobsDir, `sha256-${sha}`));
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
    expect(fs.readdirSync(blobsDir)).to.deep.equal([`sha256-${sha}`]);
    expect(served()).to.equal(content.length);
    expect(hub.requestsServed(REPO, FILE)).to.be.greaterThanOrEqual(7);
    const ranged = hub.log.filter((l) => l.server === "cdn" && l.range);
    expect(ranged.length).to.be.greaterThanOrEqual(7);
    expect(progress.at(-1)).to.equal(content.length);
    expect(result.stats).to.deep.include({ bytesDownloaded: content.length, resumedFrom: 0, reused: false, retries: 0 });
    expect(result.stats.verifyMs).to.be.a("number");
  });

  it("ends a file of more chunks than connections in finer chunks", async () => {
    // 6 MiB + 12 KiB in 1 MiB chunks over 2 connections: the last 2 MiB (from a 64 KiB boundary) in 256 KiB pieces.
    const result = await downloadBlob(request(), options({ chunkSize: MiB, concurrency: 2, minSplitBytes: 64 * 1024, coalesceChunks: 1 }));
    const sizes = cdnRangeSizes();
    expect(sizes.filter((n) => n === MiB).length).to.equal(4);
    expect(sizes.filter((n) => n <= 256 * 1024).length).to.be.greaterThanOrEqual(8);
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(content.length);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
  });

  it("splits a file smaller than one chunk into a range per connection", async () => {
    const result = await downloadBlob(request(), options({ chunkSize: 64 * MiB, coalesceChunks: 1 }));
    expect(hub.requestsServed(REPO, FILE)).to.equal(4);
    expect(result.stats.splits).to.equal(0);
    expect(served()).to.equal(content.length);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
  });

  it("opens more connections while each one added raises the rate, as against a server that caps each connection", async () => {
    // 1 MiB/s per response: the rate doubles with a second connection and rises by half with a third.
    hub.throttleBytesPerSecond = MiB;
    const result = await downloadBlob(request(), options({ chunkSize: MiB, concurrency: 3 }));
    expect(result.stats.connections).to.equal(3);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
    // Held back by the network, not by its own side: no request covers more than its chunk.
    expect(cdnRangeSizes().every((n) => n <= MiB)).to.equal(true);
  });

  it("covers several chunks per request while a lone connection waits on its own side, and opens no other", async () => {
    // A ring of two 64 KiB batches: reading waits on the writes and the hash most of the time, on any machine.
    const big = testBytes(48 * MiB, 11);
    const file = "big-Q4_K_M.gguf";
    const local = await FakeHub.start({ repos: [{ id: REPO, files: [{ path: file, content: big }] }] });
    try {
      const result = await downloadBlob(
        { url: `${local.url}/${REPO}/resolve/main/${file}`, size: big.length, sha256: sha256Hex(big), label: file },
        options({ chunkSize: MiB, coalesceChunks: 4, writeBufferBytes: 64 * 1024, writeBuffers: 2 }),
      );
      expect(fs.readFileSync(result.path).equals(big)).to.equal(true);
      expect(result.stats.connections).to.equal(1);
      const sizes = local.log.filter((l) => l.server === "cdn" && l.range).map((l) => rangeSize(l.range!));
      expect(sizes.reduce((a, b) => a + b, 0)).to.equal(big.length);
      expect(Math.max(...sizes)).to.equal(4 * MiB);
      expect(sizes.length).to.be.lessThan(24);
    } finally {
      await local.close();
    }
  });

  it("asks the CDN's address directly after the first redirect, without the token, and the Hub again once it expired", async () => {
    const own = await FakeHub.start({ token: "hf_secret", repos: [{ id: REPO, private: true, files: [{ path: FILE, content }] }] });
    const cdnAnswers = () => own.log.filter((l) => l.server === "cdn").map((l) => l.status);
    const resolves = () => own.log.filter((l) => l.server === "hub" && l.path.includes("/resolve/")).length;
    const withToken = { ...request(), url: `${own.url}/${REPO}/resolve/main/${FILE}`, headers: { authorization: "Bearer hf_secret" } };
    const lone = { concurrency: 1, coalesceChunks: 1 };
    try {
      const first = await downloadBlob(withToken, options(lone));
      expect(fs.readFileSync(first.path).equals(content)).to.equal(true);
      expect(cdnAnswers().length).to.be.greaterThanOrEqual(7);
      expect(cdnAnswers().every((s) => s === 206)).to.equal(true);
      expect(resolves()).to.equal(1);
      expect(own.cdnSawAuthorization).to.equal(false);

      // Addresses good for 300 ms, at 8 MiB/s (a chunk in ~125 ms): each serves a few chunks, then expires.
      fs.rmSync(blobsDir, { recursive: true, force: true });
      own.resetCounters();
      own.cdnUrlTtlMs = 300;
      own.throttleBytesPerSecond = 8 * MiB;
      const again = await downloadBlob(withToken, options(lone));
      expect(fs.readFileSync(again.path).equals(content)).to.equal(true);
      expect(cdnAnswers()).to.include(403);
      // Each refusal sent the next request to the Hub at once, not counted as a failed attempt.
      expect(resolves()).to.equal(1 + cdnAnswers().filter((s) => s === 403).length);
      expect(again.stats.retries).to.equal(0);
      expect(own.bytesServed(REPO, FILE)).to.equal(content.length);
      expect(own.cdnSawAuthorization).to.equal(false);

      // Addresses good for one request each: refused once on reuse, then the Hub is asked every time.
      fs.rmSync(blobsDir, { recursive: true, force: true });
      own.resetCounters();
      own.cdnUrlTtlMs = undefined;
      own.throttleBytesPerSecond = undefined;
      own.cdnUrlMaxUses = 1;
      const once = await downloadBlob(withToken, options(lone));
      expect(fs.readFileSync(once.path).equals(content)).to.equal(true);
      expect(cdnAnswers().filter((s) => s === 403)).to.have.length(1);
      // Every CDN request but the refused reuse came through a redirect.
      expect(cdnAnswers().length).to.equal(resolves() + 1);
      expect(once.stats.retries).to.equal(0);
    } finally {
      await own.close();
    }
  });

  it("lets idle connections take over half of a slow connection's range", async () => {
    // One response slows to 256 KiB/s after its first 256 KiB: the other connection splits off its remaining range.
    hub.fault(REPO, FILE, { kind: "slow", afterBytes: 256 * 1024, bytesPerSecond: 256 * 1024 });
    // Two chunks of ~3 MiB, one per connection (a file of more chunks would end in finer ones, taken from the queue).
    const result = await downloadBlob(request(), options({ chunkSize: 4 * MiB, concurrency: 2, minSplitBytes: 64 * 1024 }));
    expect(result.stats.splits).to.be.greaterThanOrEqual(1);
    expect(result.stats.stalls).to.equal(0);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
    // Taken over, not raced: the split-off half is fetched by the other connection, not by both (the slow one
    // stops at the new end of its range), so about the file's size crosses the wire, whatever the clock says.
    expect(served() - content.length).to.be.lessThan(256 * 1024);
  });

  it("does not download a blob that is already present", async () => {
    await downloadBlob(request(), options());
    hub.resetCounters();
    const again = await downloadBlob(request(), options());
    expect(again.stats.reused).to.equal(true);
    expect(served()).to.equal(0);
  });

  it("retries a 500 with backoff", async () => {
    hub.fault(REPO, FILE, { kind: "status", status: 500, afterBytes: 2 * MiB, times: 2 });
    const result = await downloadBlob(request(), options());
    expect(result.stats.retries).to.be.greaterThanOrEqual(2);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
  });

  it("resumes a chunk from its last written byte after a connection reset", async () => {
    hub.fault(REPO, FILE, { kind: "reset", afterBytes: 3 * MiB + 1000, times: 3 });
    const result = await downloadBlob(request(), options({ concurrency: 1, writeBufferBytes: 64 * 1024 }));
    expect(result.stats.retries).to.be.greaterThanOrEqual(1);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
    // Only the unwritten tail of the broken response is fetched again.
    expect(served() - content.length).to.be.lessThan(256 * 1024);
  });

  it("drops a stalled connection after the stall timeout and retries", async () => {
    hub.fault(REPO, FILE, { kind: "stall", afterBytes: 1 * MiB + 77 });
    // The stalled response never resumes: finishing at all means it was dropped and its range retried.
    const result = await downloadBlob(request(), options({ concurrency: 2, stallTimeoutMs: 400 }));
    expect(result.stats.stalls).to.equal(1);
    expect(result.stats.retries).to.be.greaterThanOrEqual(1);
    expect(fs.readFileSync(result.path).equals(content)).to.equal(true);
  });

  it("catches a corrupted byte with the digest, deletes the bad data, and names both digests", async () => {
    hub.fault(REPO, FILE, { kind: "corrupt", offset: 4 * MiB + 5 });
    let error: unknown;
    try {
      await downloadBlob(request(), options());
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(DigestMismatchError);
    const e = error as DigestMismatchError;
    expect(e.details).to.deep.include({ expected: sha });
    expect(e.details?.actual).to.match(/^[0-9a-f]{64}$/).and.not.equal(sha);
    expect(e.message).to.include(sha);
    expect(fs.readdirSync(blobsDir)).to.deep.equal([]);
    // The fault fired once: a new download succeeds.
    const ok = await downloadBlob(request(), options());
    expect(fs.readFileSync(ok.path).equals(content)).to.equal(true);
  });

  it("refuses to start without enough disk space (needed vs free)", async () => {
    let error: unknown;
    try {
      await downloadBlob(request(), options({ statfs: async () => ({ bavail: 10, bsize: 4096 }) }));
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(InsufficientStorageError);
    expect((error as HubError).code).to.equal("insufficient_storage");
    expect((error as HubError).details).to.deep.include({ needed: content.length, free: 40960 });
    expect(served()).to.equal(0);
  });

  it("keeps the partial on cancel and resumes it, fetching only what is missing", async () => {
    hub.throttleBytesPerSecond = 2 * MiB;
    const ac = new AbortController();
    const opts = options({ signal: ac.signal, durable: true, checkpointBytes: 256 * 1024, writeBufferBytes: 256 * 1024 });
    const first = downloadBlob(request(), {
      ...opts,
      onProgress: (p) => {
        if (p.completed > 2 * MiB) ac.abort();
      },
    });
    let error: unknown;
    try {
      await first;
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(PullCancelledError);
    const partial = partialPath(blobsDir, { sha256: sha });
    expect(fs.existsSync(partial)).to.equal(true);
    const sidecar = JSON.parse(fs.readFileSync(progressPathOf(partial), "utf8"));
    const recorded = sidecar.written.reduce((n: number, [s, e]: [number, number]) => n + e - s, 0);
    // A cancel flushes: everything written is durable too.
    expect(sidecar.durable).to.deep.equal(sidecar.written);
    expect(recorded).to.be.greaterThan(2 * MiB).and.lessThan(content.length);

    hub.throttleBytesPerSecond = undefined;
    const servedBefore = served();
    const second = await downloadBlob(request(), options());
    expect(second.stats.resumedFrom).to.equal(recorded);
    expect(served() - servedBefore).to.be.lessThanOrEqual(content.length - recorded + 4 * 64 * 1024);
    expect(fs.readFileSync(second.path).equals(content)).to.equal(true);
    expect(fs.existsSync(partial)).to.equal(false);
    expect(fs.existsSync(progressPathOf(partial))).to.equal(false);
  });

  it("trusts written ranges after a process crash, and only durable ones after a reboot", async () => {
    const partial = partialPath(blobsDir, { sha256: sha });
    fs.mkdirSync(blobsDir, { recursive: true });
    fs.writeFileSync(partial, Buffer.alloc(0));
    fs.truncateSync(partial, content.length);
    const sidecar = {
      version: 2, digest: `sha256:${sha}`, size: content.length, boot: "boot-a", durable_mode: true,
      written: [[0, 3 * MiB]], durable: [[0, 1 * MiB]], updated_at: new Date().toISOString(),
    };
    fs.writeFileSync(progressPathOf(partial), JSON.stringify(sidecar));
    const expected = { digest: `sha256:${sha}`, size: content.length };
    expect((await readPartialProgress(partial, expected, "boot-a"))?.ranges).to.deep.equal([[0, 3 * MiB]]);
    expect((await readPartialProgress(partial, expected, "boot-b"))?.ranges).to.deep.equal([[0, 1 * MiB]]);
    fs.writeFileSync(progressPathOf(partial), JSON.stringify({ ...sidecar, durable_mode: false }));
    expect((await readPartialProgress(partial, expected, "boot-b"))?.ranges).to.deep.equal([[0, 3 * MiB]]);
    expect(await readPartialProgress(partial, { ...expected, size: 5 }, "boot-a")).to.equal(undefined);
    fs.writeFileSync(progressPathOf(partial), "{ not json");
    expect(await readPartialProgress(partial, expected, "boot-a")).to.equal(undefined);
  });

  it("deletes the partial on cancel when told to discard", async () => {
    hub.throttleBytesPerSecond = 8 * MiB;
    const ac = new AbortController();
    let error: unknown;
    try {
      // Cancel once bytes are on disk, so there is a partial to discard.
      await downloadBlob(request(), options({ signal: ac.signal, discardOnCancel: true, onProgress: (p) => p.completed > 0 && ac.abort() }));
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(PullCancelledError);
    expect(fs.readdirSync(blobsDir)).to.deep.equal([]);
  });

  it("does not retry a file the Hub says is missing", async () => {
    const client = new HubClient({ endpoint: hub.url });
    let error: unknown;
    try {
      await downloadBlob(
        {
          ...request(),
          url: `${hub.url}/${REPO}/resolve/main/missing.gguf`,
          errorFromResponse: (res) => client.errorFromResponse(res, { repo: REPO, file: "missing.gguf" }),
        },
        options(),
      );
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(RepoNotFoundError);
    expect(hub.log.filter((l) => l.path.endsWith("missing.gguf")).length).to.be.lessThanOrEqual(4);
  });
});

/** The size of a `bytes=a-b` range. */
function rangeSize(range: string): number {
  const [s, e] = range.replace("bytes=", "").split("-").map(Number);
  return e! - s! + 1;
}
