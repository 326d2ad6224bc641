import { expect } from "chai";
import { NotFoundError } from "../../src/client/errors.js";
import { OLLAMA_API_VERSION } from "../../src/protocol/native.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { until } from "../helpers/until.js";

describe("native API", () => {
  let d: TestDaemon;
  before(async () => (d = await startTestDaemon()));
  after(async () => d.stop());

  it("reports ready health with pid, version and address", async () => {
    const h = await d.client.health();
    expect(h.status).to.equal("ready");
    expect(h.pid).to.equal(process.pid);
    expect(h.version).to.equal("0.0.0-test");
    expect(h.address).to.match(/:\d+$/);
  });

  it("answers /api/version, /api/tags (the built-in model) and /api/ps in Ollama's shape", async () => {
    // Ollama's API level, which clients gate on (Copilot Chat needs >= 0.6.4), and mlxm's own version beside it.
    expect(await d.client.version()).to.deep.equal({ version: OLLAMA_API_VERSION, mlxm: "0.0.0-test" });
    const [major, minor, patch] = OLLAMA_API_VERSION.split(".").map(Number) as [number, number, number];
    expect(major * 1e6 + minor * 1e3 + patch, "at least Copilot Chat's minimum").to.be.at.least(6 * 1e3 + 4);
    const tags = await d.client.list();
    expect(tags.models.map((m) => m.name)).to.deep.equal(["mlxm-tiny"]);
    expect(tags.models[0]!.details).to.include({ format: "gguf", family: "llama" });
    expect(tags.models[0]!.digest).to.match(/^[0-9a-f]{64}$/);
    expect(await d.client.ps()).to.deep.equal({ models: [] });
  });

  it("puts x-request-id on every response, keeping a sane caller id", async () => {
    const own = await fetch(`${d.baseUrl}/api/version`, { headers: { "x-request-id": "my-id-1" } });
    expect(own.headers.get("x-request-id")).to.equal("my-id-1");
    const fresh = await fetch(`${d.baseUrl}/api/version`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(fresh.headers.get("x-request-id")).to.match(/^req_[0-9a-f]{32}$/);
  });

  it("answers unknown routes with a JSON error and a stable code", async () => {
    const res = await fetch(`${d.baseUrl}/api/nope`);
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ error: "no route for GET /api/nope", code: "not_found" });
    try {
      await d.client.json("GET", "/api/nope", (await import("zod")).z.any());
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as NotFoundError).code).to.equal("not_found");
    }
  });

  it("answers Ollama's push and blob upload with a 501 that says what to use instead", async () => {
    const push = await fetch(`${d.baseUrl}/api/push`, { method: "POST", body: JSON.stringify({ model: "mlxm-tiny" }) });
    expect(push.status).to.equal(501);
    expect(await push.json()).to.deep.include({ code: "not_implemented" }).and.have.property("error").that.contains("mlxm pull");
    // `ollama create` asks whether a blob exists (HEAD) before uploading it (POST).
    for (const method of ["HEAD", "POST"]) {
      const blob = await fetch(`${d.baseUrl}/api/blobs/sha256:${"0".repeat(64)}`, { method, ...(method === "POST" ? { body: "x" } : {}) });
      expect(blob.status, method).to.equal(501);
      if (method === "POST") expect(((await blob.json()) as { error: string }).error).to.contain("mlxm import");
    }
  });

  it("answers malformed JSON bodies with 400 invalid_json", async () => {
    const res = await fetch(`${d.baseUrl}/api/pull`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { code: string }).code).to.equal("invalid_json");
  });
});

describe("daemon shutdown", () => {
  it("lets an in-flight request finish before closing", async () => {
    const d = await startTestDaemon();
    // Hold a request open by streaming a slow request body, then close while it is in flight.
    const { Readable } = await import("node:stream");
    let push!: (chunk: string | null) => void;
    const body = new Readable({ read() {} });
    push = (c) => body.push(c);
    const pending = fetch(`${d.baseUrl}/api/tags`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Readable.toWeb(body) as unknown as ReadableStream,
      duplex: "half",
    } as RequestInit);
    push("{");
    await until(() => d.daemon.inFlight() === 1, "the request to reach the daemon");
    // close() starts draining before its first await: the request below completes during the drain.
    const closing = d.daemon.close();
    expect(d.daemon.inFlight()).to.equal(1);
    push("}");
    push(null);
    const res = await pending;
    // The request completed (404: POST /api/tags is not a route) instead of being cut off.
    expect(res.status).to.equal(404);
    await closing;
    await d.stop();
  });
});
