/**
 * A GPU backend asked for by name that this machine (no GPU) cannot load is a clear start-up error, from the
 * shipped CLI; `mlxm daemon status` reports where the engine runs.
 */
import { expect } from "chai";
import { freshCliEnv, parseJson, runCli, type CliEnv } from "../helpers/cli.js";

describe("MLXM_GPU (e2e, no GPU here)", function () {
  this.timeout(240_000);
  let env: CliEnv;
  let cleanup: () => void;

  before(async () => {
    ({ env, cleanup } = await freshCliEnv({ MLXM_START_TIMEOUT: "120s" }));
  });
  after(async () => {
    await runCli(["daemon", "stop"], env);
    cleanup();
  });

  it("refuses to start with a named backend that cannot load, saying what is missing", async () => {
    const slow = { timeoutMs: 200_000 }; // a loaded machine can take long to find there is no CUDA
    const cuda = await runCli(["serve"], { ...env, extra: { MLXM_GPU: "cuda" } }, slow);
    expect(cuda.code).to.equal(1);
    expect(cuda.stderr).to.contain("MLXM_GPU=cuda").and.contain("NVIDIA GPU").and.contain("MLXM_GPU=auto");
    // node-llama-cpp quietly gives a CPU binding for `metal` off macOS; mlxm does not pretend.
    const metal = await runCli(["serve"], { ...env, extra: { MLXM_GPU: "metal" } }, slow);
    expect(metal.code).to.equal(1);
    expect(metal.stderr).to.contain("only available on macOS");
    const bad = await runCli(["ls"], { ...env, extra: { MLXM_GPU: "tpu" } });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("MLXM_GPU must be one of");
  });

  it("daemon status says the default fell back to the CPU", async () => {
    expect((await runCli(["daemon", "start"], env)).code).to.equal(0);
    let status: { accelerator?: { backend: string; requested: string } } = {};
    for (let i = 0; i < 100 && !status.accelerator; i++) {
      status = parseJson(await runCli(["daemon", "status", "--json"], env));
      if (!status.accelerator) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status.accelerator).to.include({ backend: "cpu", requested: "auto" });
    const human = await runCli(["daemon", "status"], env);
    expect(human.stdout).to.match(/compute\s+CPU/);
  });
});
