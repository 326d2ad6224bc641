/**
 * The library's Hub side against the local Hub stand-in: a pull that finds its exact file in a Hugging Face cache
 * takes it (verified) and transfers no bytes; a cache file with the wrong content is not used; and `/api/search`
 * lists GGUF repos with their quantisations and sizes.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeTinyLlama } from "../helpers/tiny-bytes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { FakeHub, sha256Hex } from "../helpers/fake-hub.js";
import { splitTinyLlama } from "../helpers/split-model.js";

const OWNER_TOKEN = "hf_owner_of_the_private_repo";

describe("model library: Hugging Face cache and search", function () {
  this.timeout(60_000);
  let hub: FakeHub;
  let d: TestDaemon;
  let cache: string;
  const cached = encodeTinyLlama(11);
  const stale = encodeTinyLlama(12);
  const split = splitTinyLlama(2, { seed: 13 });

  before(async () => {
    hub = await FakeHub.start({
      token: OWNER_TOKEN,
      repos: [
        { id: "acme/Cached-GGUF", files: [{ path: "cached-Q8_0.gguf", content: cached }], downloads: 10 },
        { id: "acme/Stale-GGUF", files: [{ path: "stale-Q8_0.gguf", content: stale }], downloads: 5 },
        {
          id: "acme/Many-GGUF",
          downloads: 500,
          likes: 7,
          files: [
            { path: "many-Q4_K_M.gguf", content: cached },
            { path: "many-Q8_0.gguf", content: stale },
            { path: "Q2/many-Q2_K-00001-of-00002.gguf", content: split[0]! },
            { path: "Q2/many-Q2_K-00002-of-00002.gguf", content: split[1]! },
            { path: "mmproj-many-f16.gguf", content: Buffer.from("not a model") },
            { path: "README.md", content: Buffer.from("# many"), lfs: false },
          ],
        },
        { id: "other/NoGguf", files: [{ path: "model.safetensors", content: Buffer.from("x") }], downloads: 9999 },
        { id: "acme/Secret-GGUF", private: true, files: [{ path: "secret-Q8_0.gguf", content: cached }], downloads: 1 },
      ],
    });
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-hf-cache-"));
    d = await startTestDaemon({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache });
  });
  after(async () => {
    await d?.stop();
    await hub?.close();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  /** The layout huggingface_hub writes: the blob named by its sha256, the snapshot a relative symlink to it. */
  const putInCache = (repo: string, file: string, content: Buffer, blobName = sha256Hex(content)) => {
    const repoDir = path.join(cache, `models--${repo.replace("/", "--")}`);
    fs.mkdirSync(path.join(repoDir, "blobs"), { recursive: true });
    fs.writeFileSync(path.join(repoDir, "blobs", blobName), content);
    const snapshot = path.join(repoDir, "snapshots", hub.commitOf(repo));
    fs.mkdirSync(snapshot, { recursive: true });
    fs.symlinkSync(path.join("..", "..", "blobs", blobName), path.join(snapshot, file));
  };

  it("takes a pulled file from the Hugging Face cache, verified, without downloading a byte", async () => {
    putInCache("acme/Cached-GGUF", "cached-Q8_0.gguf", cached);
    hub.resetCounters();
    for await (const _ of d.client.pull("acme/Cached-GGUF:Q8_0")) void _;
    expect(hub.bytesServed("acme/Cached-GGUF", "cached-Q8_0.gguf")).to.equal(0);
    const show = await d.client.show("hf.co/acme/Cached-GGUF:Q8_0");
    expect(show.mlxm.digest).to.equal(`sha256:${sha256Hex(cached)}`);
    expect(fs.readFileSync(show.mlxm.files[0]!.path).equals(cached)).to.equal(true);
  });

  it("downloads instead when the cached file's content is not the one the Hub published", async () => {
    // Right size, wrong bytes (a damaged cache): never used.
    const damaged = Buffer.from(stale);
    damaged[damaged.length - 1] ^= 0xff;
    putInCache("acme/Stale-GGUF", "stale-Q8_0.gguf", damaged, sha256Hex(stale));
    hub.resetCounters();
    for await (const _ of d.client.pull("acme/Stale-GGUF:Q8_0")) void _;
    expect(hub.bytesServed("acme/Stale-GGUF", "stale-Q8_0.gguf")).to.equal(stale.length);
    const show = await d.client.show("hf.co/acme/Stale-GGUF:Q8_0");
    expect(show.mlxm.digest).to.equal(`sha256:${sha256Hex(stale)}`);
  });

  it("searches GGUF repos, most downloaded first, with each quantisation's size ready for `mlxm pull`", async () => {
    const res = await d.client.search("gguf", { limit: 5 });
    expect(res.models.map((m) => m.repo)).to.deep.equal(["acme/Many-GGUF", "acme/Cached-GGUF", "acme/Stale-GGUF"]);
    const many = res.models[0]!;
    expect(many).to.include({ downloads: 500, likes: 7, gated: false });
    expect(many.quantizations).to.deep.equal([
      { quant: "Q4_K_M", ref: "hf.co/acme/Many-GGUF:Q4_K_M", size: cached.length, files: 1 },
      { quant: "Q8_0", ref: "hf.co/acme/Many-GGUF:Q8_0", size: stale.length, files: 1 },
      { quant: "Q2_K", ref: "hf.co/acme/Many-GGUF:Q2_K", size: split[0]!.length + split[1]!.length, files: 2 },
    ]);
    expect((await d.client.search("many", { limit: 1, sort: "likes" })).models.map((m) => m.repo)).to.deep.equal(["acme/Many-GGUF"]);
    expect((await d.client.search("nothing-matches")).models).to.deep.equal([]);
    const bad = await d.client.search("x", { limit: 500 }).catch((e: unknown) => e);
    expect(bad).to.have.property("code", "bad_request");
  });

  it("lists the caller's private repos only to a search that brings the caller's token, and refuses a malformed one", async () => {
    // The daemon has no HF_TOKEN: the CLI sends its own in X-HF-Token.
    const anonymous = await d.client.search("acme", { limit: 10 });
    expect(anonymous.models.map((m) => m.repo)).to.not.include("acme/Secret-GGUF");
    expect(anonymous.models.every((m) => m.private === false)).to.equal(true);
    const owner = await d.client.search("acme", { limit: 10, hubToken: OWNER_TOKEN });
    const secret = owner.models.find((m) => m.repo === "acme/Secret-GGUF");
    expect(secret, JSON.stringify(owner.models.map((m) => m.repo))).to.deep.include({ private: true, gated: false });
    // Its files were read with the caller's token too.
    expect(secret!.quantizations).to.deep.equal([{ quant: "Q8_0", ref: "hf.co/acme/Secret-GGUF:Q8_0", size: cached.length, files: 1 }]);
    const res = await fetch(`${d.baseUrl}/api/search?q=acme`, { headers: { "x-hf-token": "hf_has a space" } });
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain("x-hf-token").and.not.contain("has a space");
  });
});
