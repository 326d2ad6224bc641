/**
 * `/api/pull/cancel` and `/api/delete` over HTTP against a real daemon pulling from a local Hub stand-in: a cancelled
 * pull ends its progress stream with an in-band `cancelled` error; deleting a model keeps the files another model
 * shares and removes the rest, a split model's link folder included.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { MlxmError, NotFoundError } from "../../src/client/errors.js";
import { TINY_PRESET, generateTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import type { PullProgress } from "../../src/protocol/pull.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { FakeHub, sha256Hex } from "../helpers/fake-hub.js";
import { splitTinyLlama } from "../helpers/split-model.js";

const CALLER_TOKEN = "hf_callerOwnToken123";

describe("native API: pull cancel and delete (fake Hub, real daemon)", function () {
  this.timeout(120_000);
  let hub: FakeHub;
  let d: TestDaemon;
  const q8 = Buffer.from(generateTinyLlama({ ...TINY_PRESET, seed: 21, tensorType: "Q8_0" }));
  const big = Buffer.from(generateTinyLlama({ ...TINY_PRESET, seed: 22, tensorType: "F32", vocabSize: 16000, nEmbd: 128 }));
  const [part1, part2] = splitTinyLlama(2, { seed: 23, tensorType: "Q8_0" });

  before(async () => {
    hub = await FakeHub.start({
      // Granted to the gated repo below; the daemon itself has no HF_TOKEN.
      token: CALLER_TOKEN,
      repos: [
        { id: "mlxm-test/gated-GGUF", gated: "manual", files: [{ path: "gated-Q8_0.gguf", content: q8 }] },
        // The same bytes in two repos: two models, one blob.
        { id: "mlxm-test/a-GGUF", files: [{ path: "a-Q8_0.gguf", content: q8 }] },
        { id: "mlxm-test/b-GGUF", files: [{ path: "b-Q8_0.gguf", content: q8 }] },
        { id: "mlxm-test/big-GGUF", files: [{ path: "big-F32.gguf", content: big }] },
        { id: "mlxm-test/split-GGUF", files: [{ path: "split-Q8_0-00001-of-00002.gguf", content: part1! }, { path: "split-Q8_0-00002-of-00002.gguf", content: part2! }] },
      ],
    });
    d = await startTestDaemon({ HF_ENDPOINT: hub.url, MLXM_PULL_CHUNK_SIZE: "1MiB", MLXM_PULL_CONCURRENCY: "2" });
  });
  after(async () => {
    await d?.stop();
    await hub?.close();
  });

  /** Pull `model` to the end; returns the name it is stored under (the one model the list did not have). */
  async function pull(model: string, hubToken?: string): Promise<string> {
    const before = new Set((await d.client.list()).models.map((m) => m.name));
    let last: PullProgress | undefined;
    for await (const p of d.client.pull(model, { hubToken })) last = p;
    expect(last?.status).to.equal("success");
    const added = (await d.client.list()).models.map((m) => m.name).filter((n) => !before.has(n));
    expect(added).to.have.length(1);
    return added[0]!;
  }

  it("pulls a gated repo with the caller's own token (X-HF-Token), refuses a malformed one, and stores it nowhere", async () => {
    const refusal = async (hubToken?: string) => {
      try {
        for await (const _ of d.client.pull("mlxm-test/gated-GGUF", { hubToken })) void _;
      } catch (err) {
        return err as MlxmError;
      }
      throw new Error("expected the pull to be refused");
    };
    // The daemon's own environment has no token: the Hub's gated answer, saying what to set.
    expect((await refusal()).message).to.contain("HF_TOKEN");
    // A header that cannot be a token: a plain 400 before any pull starts, the value not echoed.
    const malformed = await fetch(`${d.baseUrl}/api/pull`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hf-token": "hf_has a space" },
      body: JSON.stringify({ model: "mlxm-test/gated-GGUF" }),
    });
    expect(malformed.status).to.equal(400);
    const text = await malformed.text();
    expect(text).to.contain("x-hf-token");
    expect(text).not.to.contain("has a space");

    const name = await pull("mlxm-test/gated-GGUF", CALLER_TOKEN);
    expect(name).to.equal("hf.co/mlxm-test/gated-GGUF:Q8_0");
    expect(hub.cdnSawAuthorization, "the token stays on the Hub's origin").to.equal(false);
    // Kept for that pull only: not in the database (or its journal), so nothing another caller could reuse.
    const dbFiles = fs.readdirSync(d.home).filter((n) => n.startsWith("mlxm.db"));
    expect(dbFiles).to.include("mlxm.db");
    for (const f of dbFiles) {
      expect(fs.readFileSync(path.join(d.home, f)).includes(CALLER_TOKEN), f).to.equal(false);
    }
    await d.client.deleteModel(name);
  });

  it("cancels a running pull: the stream ends with an in-band cancelled error, and a second cancel is a 404", async () => {
    hub.throttleBytesPerSecond = 256 * 1024;
    try {
      const seen: PullProgress[] = [];
      let error: unknown;
      try {
        for await (const p of d.client.pull("mlxm-test/big-GGUF")) {
          seen.push(p);
          // Cancel once bytes arrive, from another connection, as `mlxm pull --cancel` does.
          if ((p.completed ?? 0) > 0 && seen.filter((s) => (s.completed ?? 0) > 0).length === 1) {
            expect(await d.client.cancelPull("mlxm-test/big-GGUF", true)).to.deep.equal({ cancelled: true });
          }
        }
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(MlxmError);
      expect((error as MlxmError).code).to.equal("cancelled");
      expect(seen.map((p) => p.status)).not.to.include("success");
      expect((await d.client.list()).models.map((m) => m.name)).to.deep.equal(["mlxm-tiny"]);
      try {
        await d.client.cancelPull("mlxm-test/big-GGUF");
        expect.fail("nothing left to cancel");
      } catch (err) {
        expect(err).to.be.instanceOf(NotFoundError);
      }
    } finally {
      hub.throttleBytesPerSecond = undefined;
    }
  });

  it("deletes a model whose blob another model shares: the blob stays until the last one goes", async () => {
    const a = await pull("mlxm-test/a-GGUF:Q8_0");
    const b = await pull("mlxm-test/b-GGUF:Q8_0");
    const blob = (await d.client.show(b)).mlxm.files[0]!.path;
    expect(path.basename(blob)).to.equal(`sha256-${sha256Hex(q8)}`);

    expect(await d.client.deleteModel(a)).to.deep.equal({ deleted: a, freed_bytes: 0 });
    expect(fs.existsSync(blob)).to.equal(true);
    expect((await d.client.show(b)).mlxm.files.map((f) => f.path)).to.deep.equal([blob]);

    expect(await d.client.deleteModel(b)).to.deep.equal({ deleted: b, freed_bytes: q8.length });
    expect(fs.existsSync(blob)).to.equal(false);
    expect((await d.client.list()).models.map((m) => m.name)).to.deep.equal(["mlxm-tiny"]);
    try {
      await d.client.deleteModel(b);
      expect.fail("already deleted");
    } catch (err) {
      expect(err).to.be.instanceOf(NotFoundError);
    }
  });

  it("deletes a split model with its parts and the folder of links llama.cpp loaded it through", async () => {
    const name = await pull("mlxm-test/split-GGUF:Q8_0");
    const files = (await d.client.show(name)).mlxm.files.map((f) => f.path);
    expect(files).to.have.length(2);
    await d.client.load(name);
    const links = path.join(path.dirname(files[0]!), "splits", sha256Hex(part1!));
    expect(fs.readdirSync(links).sort()).to.deep.equal(["split-Q8_0-00001-of-00002.gguf", "split-Q8_0-00002-of-00002.gguf"]);

    expect(await d.client.deleteModel(name)).to.deep.equal({ deleted: name, freed_bytes: part1!.length + part2!.length });
    for (const f of files) expect(fs.existsSync(f)).to.equal(false);
    expect(fs.existsSync(links)).to.equal(false);
  });
});
