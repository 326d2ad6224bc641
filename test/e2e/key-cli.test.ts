/**
 * `mlxm key create|ls|revoke` as shipped (the built CLI) against a daemon on port 0: the key is printed once and
 * never again, and once it exists every API refuses raw HTTP without it, each in its own protocol's shape, while
 * the CLI keeps working through its admin token.
 */
import { expect } from "chai";
import { parseJson, runCli, type CliEnv } from "../helpers/cli.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

/** One minimal generation per protocol, and how each shapes a refusal. */
const APIS = [
  {
    name: "openai",
    path: "/v1/chat/completions",
    body: { model: "mlxm-tiny", max_tokens: 2, messages: [{ role: "user", content: "hi" }] },
    refusal: (b: any) => expect(b.error).to.include({ type: "invalid_request_error" }).and.have.property("message").that.is.a("string"),
  },
  {
    name: "anthropic",
    path: "/v1/messages",
    body: { model: "mlxm-tiny", max_tokens: 2, messages: [{ role: "user", content: "hi" }] },
    refusal: (b: any) => expect(b).to.deep.include({ type: "error" }) && expect(b.error).to.include({ type: "authentication_error" }),
  },
  {
    name: "ollama",
    path: "/api/chat",
    body: { model: "mlxm-tiny", stream: false, options: { num_predict: 2 }, messages: [{ role: "user", content: "hi" }] },
    refusal: (b: any) => expect(b).to.include({ code: "unauthorized" }).and.have.property("error").that.is.a("string"),
  },
];

describe("mlxm key (e2e)", function () {
  // Each CLI call is a process start (oclif, the light tracer): seconds apiece on a loaded machine.
  this.timeout(180_000);
  let d: TestDaemon;
  let env: CliEnv;

  before(async () => {
    d = await startTestDaemon();
    env = { home: d.home, port: d.daemon.port, extra: { MLXM_NO_AUTOSTART: "1", MLXM_TRACE: "false" } };
  });
  after(async () => d?.stop());

  const post = (path: string, body: unknown, key?: string) =>
    fetch(`${d.baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });

  it("creates a key shown once, lists it without the key, requires it on every API, and revokes it", async () => {
    const empty = await runCli(["key", "ls", "--json"], env);
    expect(empty.code, empty.stderr).to.equal(0);
    expect(parseJson(empty)).to.deep.equal({ keys: [] });
    for (const api of APIS) expect((await post(api.path, api.body)).status, `${api.name} while open`).to.equal(200);

    const human = await runCli(["key", "create", "--name", "laptop"], env);
    expect(human.code, human.stderr).to.equal(0);
    const laptopKey = human.stdout.split("\n")[0]!;
    expect(laptopKey).to.match(/^mlxm-[A-Za-z0-9_-]{20,}$/);
    expect(human.stdout).to.contain('"laptop"').and.contain("only now");
    expect(human.stdout.split(laptopKey)).to.have.length(2);

    const json = await runCli(["key", "create", "--name", "ci", "--json"], env);
    expect(json.code, json.stderr).to.equal(0);
    const created = parseJson(json);
    expect(created).to.include({ name: "ci", last_used_at: null, revoked_at: null });
    expect(created.prefix).to.equal(created.key.slice(0, created.prefix.length));
    expect(json.stdout.split(created.key)).to.have.length(2);
    const ciKey: string = created.key;

    // Without a key, or with a wrong one: 401 in each protocol's own shape. With the key: served.
    for (const api of APIS) {
      for (const key of [undefined, "mlxm-not-a-key"]) {
        const refused = await post(api.path, api.body, key);
        expect(refused.status, `${api.name} with ${key ?? "no key"}`).to.equal(401);
        api.refusal(await refused.json());
      }
      expect((await post(api.path, api.body, ciKey)).status, `${api.name} with the key`).to.equal(200);
    }

    const ls = await runCli(["key", "ls"], env);
    expect(ls.code, ls.stderr).to.equal(0);
    expect(ls.stdout).to.match(/NAME\s+PREFIX\s+CREATED\s+LAST USED\s+STATUS/);
    expect(ls.stdout).to.match(/laptop\s.*never\s+active/).and.match(/ci\s.*(just now|ago)\s+active/);
    const lsJson = await runCli(["key", "ls", "--json"], env);
    expect(lsJson.code, lsJson.stderr).to.equal(0);
    const keys = parseJson(lsJson).keys as Record<string, unknown>[];
    expect(keys.map((k) => k.name).sort()).to.deep.equal(["ci", "laptop"]);
    for (const k of keys) expect(k).to.have.all.keys("name", "prefix", "created_at", "last_used_at", "revoked_at");
    expect(keys.find((k) => k.name === "ci")!.last_used_at).to.be.a("string");
    expect(keys.find((k) => k.name === "laptop")!.last_used_at).to.equal(null);
    for (const r of [ls, lsJson]) expect(r.stdout).not.to.contain(ciKey).and.not.to.contain(laptopKey);

    // The CLI itself authenticates with the admin token in MLXM_HOME; a wrong MLXM_API_KEY is exit code 6.
    const run = await runCli(["run", "mlxm-tiny", "hi", "--max-tokens", "2"], env);
    expect(run.code, run.stderr).to.equal(0);
    const wrongEnv = { ...env, extra: { ...env.extra, MLXM_API_KEY: "mlxm-not-a-key" } };
    const wrong = await runCli(["ls"], wrongEnv);
    expect(wrong.code, wrong.stderr).to.equal(6);
    expect(wrong.stderr).to.contain("MLXM_API_KEY");
    const wrongJson = await runCli(["ls", "--json"], wrongEnv);
    expect(wrongJson.code).to.equal(6);
    expect(parseJson(wrongJson).error).to.include({ code: "unauthorized" });
    const withKey = await runCli(["ls", "--json"], { ...env, extra: { ...env.extra, MLXM_API_KEY: ciKey } });
    expect(withKey.code, withKey.stderr).to.equal(0);

    const revoke = await runCli(["key", "revoke", "ci", "--json"], env);
    expect(revoke.code, revoke.stderr).to.equal(0);
    expect(parseJson(revoke)).to.deep.equal({ revoked: "ci" });
    for (const api of APIS) expect((await post(api.path, api.body, ciKey)).status, `${api.name} with a revoked key`).to.equal(401);
    expect((await post(APIS[0]!.path, APIS[0]!.body, laptopKey)).status).to.equal(200);
    const revokedLs = parseJson(await runCli(["key", "ls", "--json"], env)).keys as { name: string; revoked_at: string | null }[];
    expect(revokedLs.find((k) => k.name === "ci")!.revoked_at).to.be.a("string");

    const again = await runCli(["key", "revoke", "ci"], env);
    expect(again.code, again.stdout + again.stderr).to.equal(4);
    const missing = await runCli(["key", "revoke", "nope", "--json"], env);
    expect(missing.code).to.equal(4);
    expect(parseJson(missing)).to.have.property("error");
    const badName = await runCli(["key", "create", "--name", "../etc"], env);
    expect(badName.code).to.equal(2);
  });

  it("keeps tracing each command once keys are required: its span reaches the daemon with the admin token", async () => {
    // Keys exist from the test above. Before the fix, the span upload went without a credential, was refused, and
    // the command's root span waited in the spool: `trace --last` showed some daemon request instead.
    const traced = { ...env, extra: { MLXM_NO_AUTOSTART: "1" } };
    const ls = await runCli(["ls"], traced);
    expect(ls.code, ls.stderr).to.equal(0);
    const last = await runCli(["trace", "--last", "--json"], { ...env, extra: { MLXM_NO_AUTOSTART: "1", MLXM_TRACE: "false" } });
    expect(last.code, last.stderr).to.equal(0);
    expect(parseJson(last).summary.name).to.equal("mlxm ls");
  });
});
