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
    // Independent CLI starts run side by side: each is mostly Node's own start-up.
    const [cuda, ...bads] = await Promise.all([
      runCli(["serve"], { ...env, extra: { MLXM_GPU: "cuda" } }, slow),
      ...["serve", "ls"].map((command) => runCli([command], { ...env, extra: { MLXM_GPU: "tpu" } })),
    ]);
    expect(cuda.code).to.equal(1);
    expect(cuda.stderr).to.contain("MLXM_GPU=cuda").and.contain("NVIDIA GPU").and.contain("MLXM_GPU=auto");
    // `metal` off macOS (node-llama-cpp quietly answers it with a CPU binding) is refused the same way: see the unit test.
    // A bad value is a usage error naming the variable, from `serve` too (not a stack trace from tracing set-up).
    for (const [i, command] of ["serve", "ls"].entries()) {
      const bad = bads[i]!;
      expect(bad.code, command).to.equal(2);
      expect(bad.stderr).to.contain('MLXM_GPU must be one of auto, off, metal, cuda, vulkan, got "tpu"').and.not.contain("    at ");
    }
  });

  it("daemon status says the default fell back to the CPU", async () => {
    expect((await runCli(["daemon", "start"], env)).code).to.equal(0);
    let status: { accelerator?: { backend: string; requested: string } } = {};
    for (let i = 0; i < 100 && !status.accelerator; i++) {
      status = parseJson(await runCli(["daemon", "status", "--json"], env));
      if (!status.accelerator) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status.accelerator).to.include({ backend: "cpu", requested: "auto" });
    // Which llama.cpp binary loaded: node-llama-cpp's prebuilt one, or one `mlxm engine build` compiled here.
    expect(status.accelerator).to.have.property("binary").that.is.oneOf(["local", "prebuilt"]);
    const human = await runCli(["daemon", "status"], env);
    expect(human.stdout).to.match(/compute\s+CPU, (local build|prebuilt) llama\.cpp/);
  });
});
