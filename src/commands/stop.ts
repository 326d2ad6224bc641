import { Args } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";

export default class Stop extends BaseCommand<typeof Stop> {
  static override summary = "Unload a model now (after its in-flight requests finish). Exit code 4 if no such model.";
  static override examples = ["<%= config.bin %> stop mlxm-tiny"];
  static override args = { model: Args.string({ description: "Model name", required: true }) };

  async run(): Promise<{ model: string; stopped: true }> {
    await (await this.client()).stop(this.args.model);
    this.say(`stopped ${this.args.model}`);
    return { model: this.args.model, stopped: true };
  }
}
