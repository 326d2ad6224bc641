import { Args } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { formatBytes } from "../cli/render.js";
import type { DeleteResponse } from "../protocol/pull.js";

export default class Rm extends BaseCommand<typeof Rm> {
  static override summary = "Remove a local model: its rows and its files (files another model shares are kept).";
  static override args = { model: Args.string({ description: "Model name, as `mlxm ls` shows it.", required: true }) };

  async run(): Promise<DeleteResponse> {
    const res = await (await this.client()).deleteModel(this.args.model);
    this.say(`deleted ${res.deleted} (${formatBytes(res.freed_bytes)} freed)`);
    return res;
  }
}
