/**
 * `mlxm route …` and `mlxm usage` as shipped (the built CLI) against a daemon on port 0 and a fake OpenAI-compatible
 * upstream that requires a key: the key goes in on stdin and never comes back out.
 */
import { expect } from "chai";
import { parseJson, runCli, type CliEnv } from "../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { FAKE_OPENAI_USAGE, startFakeOpenAI } from "../helpers/fake-openai.js";
import type { FakeServer } from "../helpers/http-server.js";

const KEY = "sk-e2e0route0key0never0printed0987654321";

describe("mlxm route / usage (e2e)", function () {
  this.timeout(60_000);
  let d: TestDaemon;
  let up: FakeServer;
  let env: CliEnv;

  before(async () => {
    up = await startFakeOpenAI({ apiKey: KEY });
    d = await startTestDaemon();
    env = { home: d.home, port: d.daemon.port, extra: { MLXM_NO_AUTOSTART: "1", MLXM_TRACE: "false" } };
  });
  after(async () => {
    await d?.stop();
    await up?.close();
  });

  it("adds a route with a key from stdin, lists it without the key, tests it, sums it, removes it", async () => {
    const add = await runCli(["route", "add", "remote-*", "--provider", "openai-compatible", "--base-url", `${up.url}/v1`, "--model", "up-model", "--api-key-stdin", "--timeout", "30s", "--json"], env, { stdin: `${KEY}\n` });
    expect(add.code, add.stderr).to.equal(0);
    expect(parseJson(add)).to.deep.include({ pattern: "remote-*", key_source: "stored", timeout_ms: 30_000 });

    const dup = await runCli(["route", "add", "remote-*", "--provider", "openai", "--json"], env);
    expect(dup.code).to.not.equal(0);

    const ls = await runCli(["route", "ls"], env);
    expect(ls.code, ls.stderr).to.equal(0);
    expect(ls.stdout).to.contain("remote-*").and.contain("stored");

    const test = await runCli(["route", "test", "remote-one", "--json"], env);
    expect(test.code, test.stderr).to.equal(0);
    expect(parseJson(test)).to.deep.include({ backend: "openai-compatible:up-model", pattern: "remote-*", input_tokens: FAKE_OPENAI_USAGE.prompt_tokens, output_tokens: FAKE_OPENAI_USAGE.completion_tokens });
    expect(up.requests.at(-1)!.headers.authorization).to.equal(`Bearer ${KEY}`);

    const usage = await runCli(["usage", "--by", "backend", "--json"], env);
    expect(usage.code, usage.stderr).to.equal(0);
    const row = parseJson(usage).rows.find((r: { key: string }) => r.key === "openai-compatible:up-model");
    expect(row).to.deep.include({ requests: 1, input_tokens: FAKE_OPENAI_USAGE.prompt_tokens, output_tokens: FAKE_OPENAI_USAGE.completion_tokens });

    for (const r of [add, ls, test, usage]) expect(r.stdout + r.stderr).not.to.contain(KEY);

    const rm = await runCli(["route", "rm", "remote-*", "--json"], env);
    expect(rm.code, rm.stderr).to.equal(0);
    expect((await runCli(["route", "rm", "remote-*"], env)).code).to.equal(4);
  });
});
