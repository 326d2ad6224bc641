/**
 * The model library as a user runs it: the built CLI and a background daemon. Import a GGUF from disk (NDJSON
 * progress), refuse a broken one with its reason and a stable exit code, make a preset from flags and a preset file,
 * show it, alias it, remove the alias, and search a local Hub stand-in.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { TINY_PRESET, writeTinyLlama } from "../../src/daemon/engine/gguf/index.js";
import { FakeHub } from "../helpers/fake-hub.js";
import { freshCliEnv, parseJson, runCli, type CliEnv } from "../helpers/cli.js";
import { encodeTinyLlama } from "../helpers/tiny-bytes.js";

const OWNER_TOKEN = "hf_owner_of_tiny_private";

describe("mlxm import, create, cp, search (e2e)", function () {
  this.timeout(120_000);
  let hub: FakeHub;
  let env: CliEnv;
  let cleanup: () => void;

  before(async () => {
    hub = await FakeHub.start({
      token: OWNER_TOKEN,
      repos: [
        { id: "acme/Tiny-GGUF", downloads: 3, files: [{ path: "tiny-Q8_0.gguf", content: encodeTinyLlama(21) }] },
        { id: "acme/Tiny-Private-GGUF", private: true, files: [{ path: "tiny-private-Q8_0.gguf", content: encodeTinyLlama(23) }] },
      ],
    });
    // A shared, busy machine can take a while to start the engine.
    ({ env, cleanup } = await freshCliEnv({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: path.join("/nonexistent", "hf-cache"), MLXM_START_TIMEOUT: "100s" }));
  });
  after(async () => {
    await runCli(["daemon", "stop"], env);
    cleanup();
    await hub.close();
  });

  it("imports a file, refuses a broken one, and makes a preset and an alias of it", async () => {
    const file = path.join(env.home, "Tiny-Q8_0.gguf");
    await writeTinyLlama(file, { ...TINY_PRESET, seed: 22 });
    // The first command starts the daemon: slow on a busy machine.
    const imported = await runCli(["import", file, "--json"], env, { timeoutMs: 150_000 });
    expect(imported.code, imported.stderr).to.equal(0);
    const lines = imported.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.file === "Tiny-Q8_0.gguf" && l.completed === fs.statSync(file).size)).to.equal(true);
    expect(lines.at(-1)).to.deep.include({ name: "Tiny-Q8_0", mode: "copy", status: "success" });

    const broken = path.join(env.home, "broken.gguf");
    fs.writeFileSync(broken, "not a model\n");
    const refused = await runCli(["import", broken, "--json"], env);
    expect(refused.code).to.equal(1);
    expect(JSON.parse(refused.stdout.trim().split("\n").at(-1)!).error).to.include({ code: "invalid_model" });

    const presetFile = path.join(env.home, "terse.modelfile");
    fs.writeFileSync(presetFile, 'FROM Tiny-Q8_0\nSYSTEM """Be brief."""\nPARAMETER temperature 0.5\nPARAMETER stop END\n');
    const created = await runCli(["create", "terse", "-f", presetFile, "--temperature", "0.2", "--ctx", "1024", "--json"], env);
    expect(created.code, created.stderr).to.equal(0);
    const show = parseJson(await runCli(["show", "terse", "--json"], env));
    expect(show.mlxm.preset).to.deep.equal({ system: "Be brief.", parameters: { temperature: 0.2, stop: ["END"], num_ctx: 1024 } });
    const human = await runCli(["show", "terse"], env);
    expect(human.stdout).to.match(/Preset\n\s+from\s+Tiny-Q8_0\n\s+system\s+Be brief\.\n\s+num_ctx\s+1024/);

    const badFile = await runCli(["create", "x", "-f", path.join(env.home, "missing.modelfile")], env);
    expect(badFile.code).to.equal(2);

    expect((await runCli(["cp", "terse", "terse2"], env)).code).to.equal(0);
    expect((await runCli(["rm", "terse2"], env)).code).to.equal(0);
    const ls = parseJson(await runCli(["ls", "--json"], env));
    const names = ls.models.map((m: { name: string }) => m.name);
    expect(names).to.include.members(["Tiny-Q8_0", "terse"]).and.not.include("terse2");
  });

  it("searches the Hub for GGUF repos and prints pull lines", async () => {
    const res = await runCli(["search", "tiny"], env);
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.contain("acme/Tiny-GGUF").and.to.contain("mlxm pull hf.co/acme/Tiny-GGUF:Q8_0");
    const json = parseJson(await runCli(["search", "tiny", "--json", "--limit", "1"], env));
    expect(json.models[0].quantizations[0]).to.include({ quant: "Q8_0", files: 1 });
    expect(res.stdout).to.not.contain("Tiny-Private");
  });

  it("searches as the caller with the CLI's HF_TOKEN, the caller's private repos included, whatever the daemon's environment", async () => {
    // The daemon was started (by the first test's command) without HF_TOKEN.
    const res = await runCli(["search", "tiny"], { ...env, extra: { ...env.extra, HF_TOKEN: OWNER_TOKEN } });
    expect(res.code, res.stderr).to.equal(0);
    expect(res.stdout).to.match(/acme\/Tiny-Private-GGUF {2}\(0 downloads, 0 likes, private\)/);
    expect(res.stdout).to.contain("mlxm pull hf.co/acme/Tiny-Private-GGUF:Q8_0");
  });
});
