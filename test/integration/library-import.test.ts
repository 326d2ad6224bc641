/**
 * `/api/import` against a real daemon and the local engine: a generated GGUF imported by copy, move and link (and a
 * split one), each then chatted with; a corrupt file refused with the validator's reason and nothing left behind; a
 * linked file that changed refused instead of served; and `rm` of a linked model leaving the user's file alone.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiError } from "../../src/client/errors.js";
import { TINY_PRESET, writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import type { ImportProgress } from "../../src/protocol/library.js";
import { describeGgufModel } from "../../src/daemon/engine/model-info.js";
import { blobPath } from "../../src/daemon/hub/download/blob-paths.js";
import { importGguf } from "../../src/daemon/library/gguf-import.js";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { makeTempHome } from "../helpers/temp-home.js";
import { splitTinyLlama } from "../helpers/split-model.js";

describe("model library: import", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let dir: string;

  before(async () => {
    d = await startTestDaemon();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-import-"));
  });
  after(async () => {
    await d?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const blobsDir = () => path.join(d.home, "blobs");
  const blobFiles = () => (fs.existsSync(blobsDir()) ? fs.readdirSync(blobsDir()).filter((f) => f !== "splits") : []);
  const tiny = async (name: string, seed = 1) => {
    const file = path.join(dir, name);
    await writeTinyLlama(file, { ...TINY_PRESET, seed });
    return file;
  };
  const runImport = async (file: string, options: { name?: string; mode?: "copy" | "move" | "link" }) => {
    const lines: ImportProgress[] = [];
    for await (const p of d.admin.importModel(file, options)) lines.push(p);
    return lines;
  };
  const chatTokens = async (model: string) => {
    let last;
    for await (const c of d.client.chat({ model, messages: [{ role: "user", content: "hi" }], options: { num_predict: 3, seed: 1 } })) last = c;
    return last!.eval_count;
  };

  it("copies a file into the blob store, with hashing progress, and serves it", async () => {
    const file = await tiny("My-Model-Q8_0.gguf");
    const lines = await runImport(file, {});
    expect(lines.at(-1)).to.deep.equal({ status: "success", name: "My-Model-Q8_0" });
    const hashing = lines.filter((l) => l.file === "My-Model-Q8_0.gguf");
    expect(hashing.at(-1)).to.include({ completed: fs.statSync(file).size, total: fs.statSync(file).size });
    expect(fs.existsSync(file)).to.equal(true);
    const show = await d.client.show("My-Model-Q8_0");
    expect(show.mlxm.files[0]!.path.startsWith(blobsDir())).to.equal(true);
    expect(show.mlxm.source).to.equal("local");
    expect(await chatTokens("My-Model-Q8_0")).to.equal(3);
    expect(blobFiles().filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
  });

  it("moves a file into the store, and links one where it is", async () => {
    const moved = await tiny("moved.gguf", 2);
    await runImport(moved, { name: "moved", mode: "move" });
    expect(fs.existsSync(moved)).to.equal(false);
    expect((await d.client.show("moved")).mlxm.files[0]!.path.startsWith(blobsDir())).to.equal(true);
    expect(await chatTokens("moved")).to.equal(3);

    const linked = await tiny("linked.gguf", 3);
    await runImport(linked, { name: "linked", mode: "link" });
    expect((await d.client.show("linked")).mlxm.files[0]!.path).to.equal(linked);
    expect(await chatTokens("linked")).to.equal(3);
    // Removing the model never deletes the user's own file.
    await d.client.deleteModel("linked");
    expect(fs.existsSync(linked)).to.equal(true);
  });

  it("imports a split model from any of its parts, finding the others by name", async () => {
    const parts = splitTinyLlama(2, { seed: 4 });
    const names = ["split-00001-of-00002.gguf", "split-00002-of-00002.gguf"];
    parts.forEach((b, i) => fs.writeFileSync(path.join(dir, names[i]!), b));
    const lines = await runImport(path.join(dir, names[1]!), { mode: "copy" });
    expect(lines.at(-1)).to.deep.equal({ status: "success", name: "split" });
    const show = await d.client.show("split");
    expect(show.mlxm.files.map((f) => f.filename)).to.deep.equal(names);
    expect(await chatTokens("split")).to.equal(3);
  });

  it("refuses a split model with a missing part, and a name already taken", async () => {
    fs.writeFileSync(path.join(dir, "gap-00001-of-00003.gguf"), splitTinyLlama(3)[0]!);
    const missing = await runImport(path.join(dir, "gap-00001-of-00003.gguf"), {}).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(ApiError).and.include({ status: 404 });
    expect((missing as Error).message).to.contain("gap-00002-of-00003.gguf");
    const taken = await runImport(await tiny("again.gguf"), { name: "moved" }).catch((e: unknown) => e);
    expect(taken).to.be.instanceOf(ApiError).and.include({ code: "conflict" });
  });

  it("refuses a corrupt file with the validator's reason and leaves nothing behind", async () => {
    const before = blobFiles().sort();
    const file = path.join(dir, "broken.gguf");
    const good = await tiny("broken-src.gguf", 5);
    fs.writeFileSync(file, fs.readFileSync(good).subarray(0, Math.floor(fs.statSync(good).size / 2)));
    const err = await runImport(file, { mode: "move" }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ApiError).and.include({ code: "invalid_model", status: 422 });
    expect((err as Error).message).to.match(/invalid model: /);
    expect(blobFiles().sort()).to.deep.equal(before);
    expect(fs.existsSync(file)).to.equal(true);
    expect((await d.client.list()).models.map((m) => m.name)).to.not.include("broken");
  });

  it("refuses a linked file that changed since it was imported", async () => {
    const file = await tiny("changing.gguf", 6);
    await runImport(file, { name: "changing", mode: "link" });
    // Same size, different bytes and mtime: what a re-download or an edit in place looks like.
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(file, bytes);
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    const err = await chatTokens("changing").catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ApiError).and.include({ code: "invalid_model" });
    expect((err as Error).message).to.contain("changed since it was imported");
  });
});

describe("model library: a cancelled import", () => {
  it("leaves nothing behind, and a moved file where it was", async () => {
    const { home, cleanup } = makeTempHome();
    const store = await Store.open(path.join(home, "mlxm.db"));
    try {
      const blobsDir = path.join(home, "blobs");
      const deps = { models: store.models, blobsDir, blobPath: (h: string) => blobPath(blobsDir, h), describeModel: describeGgufModel };
      for (const mode of ["copy", "move", "link"] as const) {
        const file = path.join(home, `${mode}.gguf`);
        await writeTinyLlama(file, { ...TINY_PRESET, seed: 7 });
        const controller = new AbortController();
        // Cancelled as soon as hashing reports its first progress: the client went away.
        const err = await importGguf(deps, { path: file, mode, signal: controller.signal, onProgress: () => controller.abort() }).catch((e: unknown) => e);
        expect(err, mode).to.be.instanceOf(Error).and.have.property("name", "AbortError");
        expect(fs.readdirSync(blobsDir), mode).to.deep.equal([]);
        expect(fs.existsSync(file), mode).to.equal(true);
        expect(await store.models.list(), mode).to.deep.equal([]);
      }
    } finally {
      await store.close();
      cleanup();
    }
  });
});
