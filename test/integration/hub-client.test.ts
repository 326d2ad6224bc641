import { expect } from "chai";
import { HubClient } from "../../src/daemon/hub/hf-client.js";
import { GatedRepoError, HubError, RepoNotFoundError } from "../../src/daemon/hub/hub-errors.js";
import { FakeHub, sha256Hex, testBytes } from "../helpers/fake-hub.js";

const TOKEN = "hf_test_secret_token_123";

async function rejection(p: Promise<unknown>): Promise<HubError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    expect((err as Error).message).to.not.include(TOKEN);
    expect(JSON.stringify((err as HubError).details ?? {})).to.not.include(TOKEN);
    return err as HubError;
  }
  throw new Error("expected a rejection");
}

describe("hub client (fake hub)", () => {
  let hub: FakeHub;
  const model = testBytes(300_000, 7);
  const readme = Buffer.from("# a model\n");

  before(async () => {
    hub = await FakeHub.start({
      token: TOKEN,
      deniedTokens: ["hf_valid_but_not_granted"],
      repos: [
        { id: "Org/Public-GGUF", files: [{ path: "m-Q4_K_M.gguf", content: model }, { path: "README.md", content: readme, lfs: false }] },
        { id: "org/gated", gated: "manual", files: [{ path: "m-Q4_K_M.gguf", content: model }] },
        { id: "org/private", private: true, files: [{ path: "m-Q4_K_M.gguf", content: model }] },
      ],
    });
  });
  after(() => hub.close());

  it("reads repo info with sizes, LFS digests and the commit sha (case-insensitive id, canonical case back)", async () => {
    const client = new HubClient({ endpoint: hub.url });
    const info = await client.repoInfo("org/public-gguf", "main");
    expect(info.id).to.equal("Org/Public-GGUF");
    expect(info.sha).to.equal(hub.commitOf("org/public-gguf"));
    expect(info.gated).to.equal(false);
    const gguf = info.files.find((f) => f.path === "m-Q4_K_M.gguf")!;
    expect(gguf.size).to.equal(model.length);
    expect(gguf.lfs?.sha256).to.equal(sha256Hex(model));
    const md = info.files.find((f) => f.path === "README.md")!;
    expect(md.lfs).to.equal(undefined);
    expect(md.blobId).to.match(/^[0-9a-f]{40}$/);
    expect(hub.log[0].path).to.equal("/api/models/org/public-gguf/revision/main");
  });

  it("HEADs a file: the CDN redirect is not followed and the linked etag is the sha256", async () => {
    const client = new HubClient({ endpoint: hub.url });
    const meta = await client.fileMetadata("Org/Public-GGUF", "main", "m-Q4_K_M.gguf");
    expect(meta.etag).to.equal(sha256Hex(model));
    expect(meta.size).to.equal(model.length);
    expect(meta.commit).to.equal(hub.commitOf("org/public-gguf"));
    expect(meta.location).to.match(new RegExp(`^${hub.cdnUrl}/`));
  });

  it("maps an unknown repo to not_found, anonymous (401) or with a token (404)", async () => {
    const anonymous = await rejection(new HubClient({ endpoint: hub.url }).repoInfo("org/nope"));
    expect(anonymous).to.be.instanceOf(RepoNotFoundError);
    expect(anonymous.code).to.equal("not_found");
    expect(anonymous.message).to.match(/repository org\/nope not found.*set HF_TOKEN/);
    const withToken = await rejection(new HubClient({ endpoint: hub.url, token: TOKEN }).repoInfo("org/nope"));
    expect(withToken.code).to.equal("not_found");
    expect(withToken.details?.status).to.equal(404);
    expect(withToken.message).to.not.match(/set HF_TOKEN/);
  });

  it("maps unknown revisions and files to not_found", async () => {
    const client = new HubClient({ endpoint: hub.url });
    expect((await rejection(client.repoInfo("org/public-gguf", "v9"))).message).to.match(/revision "v9" not found/);
    expect((await rejection(client.fileMetadata("org/public-gguf", "main", "x.gguf"))).message).to.match(/file x.gguf not found/);
  });

  it("hides private repos from anonymous callers and shows them with the token", async () => {
    expect((await rejection(new HubClient({ endpoint: hub.url }).repoInfo("org/private"))).code).to.equal("not_found");
    const info = await new HubClient({ endpoint: hub.url, token: TOKEN }).repoInfo("org/private");
    expect(info.files).to.have.length(1);
  });

  it("explains gated repos: unauthorized without a token, forbidden with one lacking access, works with access", async () => {
    const anonymous = new HubClient({ endpoint: hub.url });
    expect((await anonymous.repoInfo("org/gated")).gated).to.equal("manual");
    const noToken = await rejection(anonymous.fileMetadata("org/gated", "main", "m-Q4_K_M.gguf"));
    expect(noToken).to.be.instanceOf(GatedRepoError);
    expect(noToken.code).to.equal("unauthorized");
    expect(noToken.status).to.equal(401);
    expect(noToken.message).to.match(/gated.*set HF_TOKEN/);
    expect(noToken.details).to.include({ refused_by: "hub" });

    const denied = await rejection(
      new HubClient({ endpoint: hub.url, token: "hf_valid_but_not_granted" }).fileMetadata("org/gated", "main", "m-Q4_K_M.gguf"),
    );
    expect(denied.code).to.equal("forbidden");
    expect(denied.message).to.match(/request access at/);

    const invalid = await rejection(new HubClient({ endpoint: hub.url, token: "hf_wrong" }).repoInfo("org/gated"));
    expect(invalid.code).to.equal("unauthorized");
    expect(invalid.message).to.match(/rejected HF_TOKEN/);

    const meta = await new HubClient({ endpoint: hub.url, token: TOKEN }).fileMetadata("org/gated", "main", "m-Q4_K_M.gguf");
    expect(meta.etag).to.equal(sha256Hex(model));
  });

  it("sends the token to the Hub's origin only", () => {
    const client = new HubClient({ endpoint: hub.url, token: TOKEN });
    expect(client.headersFor(`${hub.url}/x`).authorization).to.equal(`Bearer ${TOKEN}`);
    expect(client.headersFor(`${hub.cdnUrl}/x`).authorization).to.equal(undefined);
    expect(client.hasToken).to.equal(true);
    expect(JSON.stringify(client)).to.not.include(TOKEN);
  });

  it("retries metadata requests on 5xx", async () => {
    let calls = 0;
    const flaky: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) return new Response("oops", { status: 503 });
      return fetch(input, init);
    };
    const info = await new HubClient({ endpoint: hub.url, fetch: flaky }).repoInfo("org/public-gguf");
    expect(info.id).to.equal("Org/Public-GGUF");
    expect(calls).to.equal(2);
  });
});
