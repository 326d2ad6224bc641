import { Args } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { renderModelInfo } from "../cli/model-info-view.js";
import type { ShowResponse } from "../protocol/show.js";

export default class Show extends BaseCommand<typeof Show> {
  static override summary = "Show a model: architecture, parameters, quantisation, context length, template, files and notes.";
  static override examples = ["<%= config.bin %> show mlxm-tiny", "<%= config.bin %> show mlxm-tiny --json"];
  static override args = { model: Args.string({ description: "Model name", required: true }) };

  async run(): Promise<ShowResponse> {
    const info = await (await this.client()).show(this.args.model);
    this.say(renderModelInfo(info));
    return info;
  }
}
