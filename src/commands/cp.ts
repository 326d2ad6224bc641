import { Args } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import type { StatusResponse } from "../protocol/library.js";

export default class Cp extends BaseCommand<typeof Cp> {
  static override summary = "Give a model a second name (an alias sharing its files and preset); `mlxm rm` of either keeps the other.";
  static override examples = ["<%= config.bin %> cp hf.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M qwen"];
  static override args = {
    source: Args.string({ description: "Existing model.", required: true }),
    destination: Args.string({ description: "New name (replaced if it exists, as Ollama's copy does).", required: true }),
  };

  async run(): Promise<StatusResponse & { source: string; destination: string }> {
    const { source, destination } = this.args;
    const res = await (await this.client()).copy(source, destination);
    this.say(`copied ${source} to ${destination}`);
    return { ...res, source, destination };
  }
}
