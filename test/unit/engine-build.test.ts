import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { InterruptedError } from "../../src/client/errors.js";
import { EngineBuildError, engineBuildPlan, engineBuildProgress, nodeLlamaCppDir, runEngineBuild } from "../../src/cli/engine-build.js";
import { until } from "../helpers/until.js";

/** A stand-in for the compile: this Node running a script, so no test ever compiles llama.cpp. */
function fakeBuild(script: string) {
  return { gpu: "off" as const, command: process.execPath, args: ["-e", script], localBuildsDir: "/nowhere" };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("mlxm engine build", () => {
  it("runs node-llama-cpp's own CLI from the bundled sources, for the backend asked for", () => {
    const nlc = nodeLlamaCppDir();
    const plan = engineBuildPlan("off");
    expect(plan.command).to.equal(process.execPath);
    expect(plan.args).to.deep.equal([path.join(nlc, "dist", "cli", "cli.js"), "source", "download", "--gpu", "false", "--noUsageExample"]);
    expect(fs.existsSync(plan.args[0]!), "node-llama-cpp's CLI").to.equal(true);
    // The sources come from the git bundle node-llama-cpp ships: the build needs no network.
    expect(fs.existsSync(path.join(nlc, "llama", "gitRelease.bundle")), "the bundled llama.cpp sources").to.equal(true);
    expect(plan.localBuildsDir).to.equal(path.join(nlc, "llama", "localBuilds"));
    expect(engineBuildPlan("cuda").args.slice(3, 5)).to.deep.equal(["--gpu", "cuda"]);
    expect(engineBuildPlan("auto").args.slice(3, 5)).to.deep.equal(["--gpu", "auto"]);
  });

  it("passes every output line on and reports success", async () => {
    const lines: string[] = [];
    const result = await runEngineBuild(fakeBuild(`console.log("[1/2] a\\r[2/2] b"); console.error("done")`), { onLine: (l) => lines.push(l) });
    expect(lines).to.have.members(["[1/2] a", "[2/2] b", "done"]);
    expect(result).to.include({ gpu: "off", localBuildsDir: "/nowhere" });
    expect(result.seconds).to.be.a("number");
  });

  it("fails with the exit status and the compiler's last lines", async () => {
    const failing = runEngineBuild(fakeBuild(`console.log("compiling"); console.error("error: no such file"); process.exit(3)`));
    const err = await failing.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(EngineBuildError);
    expect(err).to.include({ code: "engine_build_failed", exitCode: 3 });
    expect((err as EngineBuildError).message).to.contain("exit status 3").and.contain("error: no such file");
  });

  it("cancelling stops the whole process group, grandchildren included", async () => {
    const abort = new AbortController();
    let grandchild = 0;
    // The script starts a long-lived child of its own (as npm starts cmake) and prints its pid.
    const script = `const c = require("node:child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }); console.log("pid " + c.pid); setInterval(() => {}, 1000);`;
    const running = runEngineBuild(fakeBuild(script), {
      signal: abort.signal,
      onLine: (l) => {
        if (l.startsWith("pid ")) grandchild = Number(l.slice(4));
      },
    });
    await until(() => grandchild > 0, "the fake build to start its child", 20_000);
    abort.abort();
    const err = await running.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(InterruptedError);
    await until(() => !alive(grandchild), "the grandchild to exit", 20_000);
  });

  it("shows compile steps as one rewritten line on a terminal and every line in a log", () => {
    const tty: string[] = [];
    const view = engineBuildProgress(true, (t) => tty.push(t));
    view.line("Repo: ggml-org/llama.cpp");
    view.line("[1/4] Building CXX object a.o");
    view.line("[2/4] Building CXX object b.o");
    view.line("Compiled llama.cpp");
    view.done();
    expect(tty).to.deep.equal([
      "Repo: ggml-org/llama.cpp\n",
      "\r\x1b[2Kcompiling llama.cpp: 1/4 (25%)",
      "\r\x1b[2Kcompiling llama.cpp: 2/4 (50%)",
      "\nCompiled llama.cpp\n",
    ]);
    const log: string[] = [];
    const plain = engineBuildProgress(false, (t) => log.push(t));
    plain.line("[1/4] Building CXX object a.o");
    plain.done();
    expect(log).to.deep.equal(["[1/4] Building CXX object a.o\n"]);
  });
});
