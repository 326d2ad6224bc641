/**
 * Presets and aliases through the official `ollama` client against a real daemon: `/api/create` stores defaults
 * that every request gets unless it says otherwise, `/api/show` reports them in Ollama's `parameters`/`system`,
 * `/api/copy` makes an alias, and removing a name never removes files another name still uses.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { Ollama } from "ollama";
import { Store } from "../../src/daemon/store/store.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { addTestModel } from "../helpers/models.js";

describe("model library: presets and aliases", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let ollama: Ollama;
  let basePath: string;

  before(async () => {
    d = await startTestDaemon();
    const store = await Store.open(path.join(d.home, "mlxm.db"));
    // Stored in the blob directory, as a pulled or imported model would be, so `rm` may delete it.
    fs.mkdirSync(path.join(d.home, "blobs"), { recursive: true });
    basePath = (await addTestModel(store, "base", { dir: path.join(d.home, "blobs") })).path;
    await store.close();
    ollama = new Ollama({ host: d.baseUrl });
  });
  after(async () => {
    await d?.stop();
  });

  const chat = (model: string, options: Record<string, unknown> = {}, system?: string) =>
    ollama.chat({
      model,
      messages: [...(system ? [{ role: "system", content: system }] : []), { role: "user", content: "hi" }],
      options: { seed: 1, ...options },
    });

  it("creates a preset whose defaults apply under each request, and request values win", async () => {
    const created = await ollama.create({ model: "terse", from: "base", system: "Be brief.", parameters: { num_predict: 2, temperature: 0.3 } });
    expect(created.status).to.equal("success");

    const plain = await chat("base", { num_predict: 2 });
    const preset = await chat("terse");
    // The preset's num_predict bounds the answer; its system prompt adds input tokens.
    expect(preset.eval_count).to.equal(2);
    expect(preset.prompt_eval_count).to.be.greaterThan(plain.prompt_eval_count);
    // The request's own values replace the preset's: a longer answer, and its own system prompt instead.
    const overridden = await chat("terse", { num_predict: 4 }, "Other.");
    const baseWithSystem = await chat("base", { num_predict: 4 }, "Other.");
    expect(overridden.eval_count).to.equal(4);
    expect(overridden.prompt_eval_count).to.equal(baseWithSystem.prompt_eval_count);
  });

  it("reports a preset in /api/show's parameters and system, and its parent", async () => {
    const show = await ollama.show({ model: "terse" });
    expect(show.system).to.equal("Be brief.");
    expect(show.parameters.split("\n").map((l) => l.split(/\s+/))).to.deep.equal([
      ["num_predict", "2"],
      ["temperature", "0.3"],
    ]);
    expect(show.details.parent_model).to.equal("base");
    const mine = await d.client.show("terse");
    expect(mine.mlxm.preset).to.deep.equal({ system: "Be brief.", parameters: { num_predict: 2, temperature: 0.3 } });
    expect(mine.mlxm.parent).to.equal("base");
  });

  it("builds a preset on a preset, inheriting what it does not set", async () => {
    await ollama.create({ model: "terser", from: "terse", parameters: { temperature: 0 } });
    const show = await d.client.show("terser");
    expect(show.mlxm.preset).to.deep.equal({ system: "Be brief.", parameters: { num_predict: 2, temperature: 0 } });
    expect((await chat("terser")).eval_count).to.equal(2);
  });

  it("refuses what it cannot do with a 400 naming the field", async () => {
    const res = await fetch(`${d.baseUrl}/api/create`, { method: "POST", body: JSON.stringify({ model: "q", from: "base", quantize: "q4_K_M" }) });
    expect(res.status).to.equal(400);
    expect(await res.json()).to.include({ code: "bad_request" });
    const unknown = await fetch(`${d.baseUrl}/api/create`, { method: "POST", body: JSON.stringify({ model: "q", from: "base", parameters: { mirostat: 1 } }) });
    expect(unknown.status).to.equal(400);
    const missing = await ollama.create({ model: "q", from: "no-such-model" }).catch((e: unknown) => e);
    expect(missing).to.have.property("status_code", 404);
  });

  it("copies a model to an alias; removing either name keeps the files the other uses", async () => {
    await ollama.copy({ source: "terse", destination: "alias" });
    const alias = await d.client.show("alias");
    expect(alias.mlxm.preset).to.deep.equal({ system: "Be brief.", parameters: { num_predict: 2, temperature: 0.3 } });
    expect((await chat("alias")).eval_count).to.equal(2);

    for (const name of ["alias", "terse", "terser"]) {
      const res = await d.client.deleteModel(name);
      expect(res.freed_bytes, name).to.equal(0);
      expect(fs.existsSync(basePath), name).to.equal(true);
    }
    expect((await chat("base", { num_predict: 1 })).eval_count).to.equal(1);
    // The last name goes, and its file with it.
    expect((await d.client.deleteModel("base")).freed_bytes).to.be.greaterThan(0);
    expect(fs.existsSync(basePath)).to.equal(false);
  });
});
