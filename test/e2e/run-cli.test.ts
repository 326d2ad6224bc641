/**
 * `mlxm run`, `mlxm show` and `mlxm stop` as shipped (the built CLI), against a daemon on port 0 that generated
 * the built-in `mlxm-tiny` at start.
 */
import { expect } from "chai";
import { parseJson, runCli, type CliEnv } from "../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

describe("mlxm run / show / stop (e2e)", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let env: CliEnv;

  before(async () => {
    d = await startTestDaemon();
    env = { home: d.home, port: d.daemon.port, extra: { MLXM_NO_AUTOSTART: "1", MLXM_TRACE: "false" } };
  });
  after(async () => d?.stop());

  it("streams an answer to stdout", async () => {
    const r = await runCli(["run", "mlxm-tiny", "hello", "--max-tokens", "8"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.not.equal("");
    expect(r.stdout.endsWith("\n")).to.equal(true);
  });

  it("prints one JSON document with the message, usage and timings", async () => {
    const r = await runCli(["run", "mlxm-tiny", "hello", "--max-tokens", "8", "--seed", "1", "--temperature", "0.7", "--system", "be brief", "--json"], env);
    expect(r.code, r.stderr).to.equal(0);
    const out = parseJson(r);
    expect(out.model).to.equal("mlxm-tiny");
    expect(out.message.role).to.equal("assistant");
    expect(out.message.content).to.be.a("string").and.not.equal("");
    expect(out.done_reason).to.equal("length");
    expect(out.usage.completion_tokens).to.equal(8);
    expect(out.usage.prompt_tokens).to.be.greaterThan(0);
    expect(out.timings.total_ms).to.be.a("number");
  });

  it("reads the prompt from piped stdin without prompting", async () => {
    const r = await runCli(["run", "mlxm-tiny", "--max-tokens", "8", "--json"], env, { stdin: "a prompt from a pipe\n" });
    expect(r.code, r.stderr).to.equal(0);
    expect(parseJson(r).usage.completion_tokens).to.equal(8);
  });

  it("fails with exit 4 and a clear message for an unknown model", async () => {
    const r = await runCli(["run", "no-such-model", "hello"], env);
    expect(r.code).to.equal(4);
    expect(r.stderr).to.contain('model "no-such-model" not found');
    const json = await runCli(["run", "no-such-model", "hello", "--json"], env);
    expect(json.code).to.equal(4);
    expect(parseJson(json).error.code).to.equal("model_not_found");
  });

  it("shows the built-in model, in JSON and for people", async () => {
    const r = await runCli(["show", "mlxm-tiny", "--json"], env);
    expect(r.code, r.stderr).to.equal(0);
    const show = parseJson(r);
    expect(show.mlxm).to.deep.include({ name: "mlxm-tiny", architecture: "llama", context_length: 2048, has_chat_template: true });
    expect(show.mlxm.files[0].size).to.be.greaterThan(0);
    expect(show.mlxm.notes.join(" ")).to.match(/gibberish/);
    const human = await runCli(["show", "mlxm-tiny"], env);
    expect(human.code, human.stderr).to.equal(0);
    for (const s of ["architecture", "llama", "quantization", "context length", "2048", "chat template", "mlxm-tiny.gguf", "gibberish"]) {
      expect(human.stdout, s).to.contain(s);
    }
    expect((await runCli(["show", "no-such-model"], env)).code).to.equal(4);
  });

  it("stops a loaded model, and exits 4 for an unknown one", async () => {
    await d.client.load("mlxm-tiny");
    const r = await runCli(["stop", "mlxm-tiny", "--json"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(parseJson(r)).to.deep.equal({ model: "mlxm-tiny", stopped: true });
    expect((await d.client.ps()).models).to.deep.equal([]);
    const missing = await runCli(["stop", "no-such-model"], env);
    expect(missing.code).to.equal(4);
    expect(missing.stderr).to.contain("no-such-model");
  });
});
