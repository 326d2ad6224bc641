import { Args, Flags, ux } from "@oclif/core";
import { BaseCommand, hubTokenForDaemon } from "../cli/base-command.js";
import { runPull, type PullOutcome } from "../cli/pull-session.js";

export default class Pull extends BaseCommand<typeof Pull> {
  static override summary = "Download a GGUF model from the Hugging Face Hub: resumable, verified, owned by the daemon.";
  static override description = `References: hf.co/<org>/<repo>:<quant> (Ollama's form) or <org>/<repo>[:<quant>]. With no quant, Q4_K_M (or the closest available) is chosen and named. Split GGUFs are pulled whole; every file is checked against the Hub's sha256 before the model becomes usable.

The daemon owns the pull: Ctrl-C asks whether to cancel it (on a terminal) or leaves it running; an interrupted pull resumes from the bytes already on disk. --json prints NDJSON progress lines.`;
  static override examples = [
    "<%= config.bin %> pull hf.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M",
    "<%= config.bin %> pull bartowski/Llama-3.2-1B-Instruct-GGUF --revision main",
    "<%= config.bin %> pull org/repo --file model-Q8_0.gguf --detach",
    "<%= config.bin %> pull --cancel org/repo:Q8_0",
  ];
  static override args = {
    model: Args.string({ description: "Model reference.", required: true }),
  };
  static override flags = {
    file: Flags.string({ description: "Pull this exact GGUF file from the repo." }),
    revision: Flags.string({ description: "Branch, tag or commit sha (default main)." }),
    detach: Flags.boolean({ description: "Start the pull and return; it continues in the daemon." }),
    cancel: Flags.boolean({ description: "Cancel a running pull of this model instead of starting one." }),
    discard: Flags.boolean({ description: "With --cancel: also delete the partial download.", dependsOn: ["cancel"] }),
  };

  /** --json output is NDJSON: progress lines, then this compact outcome line. */
  protected override logJson(json: unknown): void {
    ux.stdout(JSON.stringify(json));
  }

  async run(): Promise<PullOutcome> {
    const client = await this.client();
    const { model } = this.args;
    if (this.flags.cancel) {
      await client.cancelPull(model, this.flags.discard);
      this.say(`cancelled the pull of ${model}${this.flags.discard ? " and deleted its partial data" : ""}`);
      return { model, status: "cancelled" };
    }
    return runPull(client, model, {
      file: this.flags.file,
      revision: this.flags.revision,
      detach: this.flags.detach,
      hubToken: hubTokenForDaemon(this.settings),
      json: this.jsonEnabled(),
      // oclif silences this.log under --json; progress lines are the JSON output here.
      log: (l) => ux.stdout(l),
    });
  }
}
