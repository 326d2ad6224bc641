/**
 * `mlxm engine build` from the shipped CLI, without compiling anything: what it would run (--dry-run), and a bad
 * --gpu as a usage error. The compile itself (minutes) is never run by npm test.
 */
import { expect } from "chai";
import { freshCliEnv, parseJson, runCli, type CliEnv } from "../helpers/cli.js";

describe("mlxm engine build (e2e, dry run)", function () {
  this.timeout(60_000);
  let env: CliEnv;
  let cleanup: () => void;

  before(async () => {
    ({ env, cleanup } = await freshCliEnv());
  });
  after(() => cleanup());

  it("says what it would run, for MLXM_GPU unless --gpu says otherwise, and never needs the daemon", async () => {
    const plan = parseJson<{ dry_run: boolean; gpu: string; args: string[]; localBuildsDir: string }>(
      await runCli(["engine", "build", "--dry-run", "--json", "--no-autostart"], { ...env, extra: { MLXM_GPU: "off" } }),
    );
    expect(plan).to.include({ dry_run: true, gpu: "off" });
    expect(plan.args.slice(1)).to.deep.equal(["source", "download", "--gpu", "false", "--noUsageExample"]);
    expect(plan.localBuildsDir).to.match(/node-llama-cpp[/\\]llama[/\\]localBuilds$/);
    const vulkan = parseJson<{ gpu: string }>(await runCli(["engine", "build", "--dry-run", "--json", "--gpu", "vulkan"], env));
    expect(vulkan.gpu).to.equal("vulkan");
  });

  it("refuses an unknown backend as a usage error", async () => {
    const bad = await runCli(["engine", "build", "--gpu", "tpu"], env);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--gpu must be one of auto, off, metal, cuda, vulkan, got "tpu"');
  });
});
