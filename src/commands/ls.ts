import { BaseCommand } from "../cli/base-command.js";
import { formatAgo, formatBytes, renderTable } from "../cli/render.js";
import type { TagsResponse } from "../protocol/native.js";

export default class Ls extends BaseCommand<typeof Ls> {
  static override summary = "List local models, and the names routes send elsewhere (marked remote).";
  static override aliases = ["list"];
  static override examples = ["<%= config.bin %> ls", "<%= config.bin %> ls --json"];

  async run(): Promise<TagsResponse> {
    const tags = await (await this.client()).list();
    this.say(
      renderTable(tags.models, [
        { header: "NAME", get: (m) => m.name },
        { header: "ID", get: (m) => (m.remote_model ? "remote" : m.digest.slice(0, 12)) },
        { header: "QUANT", get: (m) => m.details.quantization_level || "-" },
        { header: "SIZE", get: (m) => (m.remote_model ? `-> ${m.remote_host ?? ""}` : formatBytes(m.size)), align: "right" },
        { header: "MODIFIED", get: (m) => formatAgo(m.modified_at) },
      ]),
    );
    return tags;
  }
}
