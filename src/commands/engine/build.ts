import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { engineBuildPlan, engineBuildProgress, runEngineBuild, type EngineBuildPlan, type EngineBuildResult } from "../../cli/engine-build.js";
import { parseGpu } from "../../config/gpu-settings.js";

export default class EngineBuild extends BaseCommand<typeof EngineBuild> {
  static override summary =
    "Compile llama.cpp for this machine (-march=native) from the sources node-llama-cpp ships, offline; the daemon uses it from its next start.";
  static override examples = ["<%= config.bin %> engine build", "<%= config.bin %> engine build --dry-run --json"];
  static override flags = {
    gpu: Flags.string({ description: "Backend to build for: auto, off (the CPU), metal, cuda or vulkan (default: MLXM_GPU)." }),
    "dry-run": Flags.boolean({ description: "Print the command it would run, and where the build would land, without running it." }),
  };

  async run(): Promise<EngineBuildResult | (EngineBuildPlan & { dry_run: true })> {
    const plan = engineBuildPlan(this.flags.gpu === undefined ? this.settings.engine.gpu : parseGpu("--gpu", this.flags.gpu));
    if (this.flags["dry-run"]) {
      this.say(`${[plan.command, ...plan.args].join(" ")}\n(builds into ${plan.localBuildsDir})`);
      return { ...plan, dry_run: true };
    }
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    const progress = engineBuildProgress(Boolean(process.stderr.isTTY), (text) => process.stderr.write(text));
    try {
      const result = await runEngineBuild(plan, { signal: abort.signal, onLine: this.jsonEnabled() ? undefined : progress.line });
      this.say(`built in ${result.seconds} s into ${result.localBuildsDir}\nRestart the daemon (mlxm daemon stop) to use it: mlxm daemon status then says "local build".`);
      return result;
    } finally {
      progress.done();
      process.off("SIGINT", onSigint);
    }
  }
}
