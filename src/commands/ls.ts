import { BaseCommand } from "../cli/base-command.js";
import { formatAgo, formatBytes, renderTable } from "../cli/render.js";
import type { TagsResponse } from "../protocol/native.js";

export default class Ls extends BaseCommand<typeof Ls> {
  static override summary = "List local models.";
  static override aliases = ["list"];
  static override examples = ["<%= config.bin %> ls", "<%= config.bin %> ls --json"];

  async run(): Promise<TagsResponse> {
    const tags = await (await this.client()).list();
    this.say(
      renderTable(tags.models, [
        { header: "NAME", get: (m) => m.name },
        { header: "ID", get: (m) => m.digest.slice(0, 12) },
        { header: "QUANT", get: (m) => m.details.quantization_level || "-" },
        { header: "SIZE", get: (m) => formatBytes(m.size), align: "right" },
        { header: "MODIFIED", get: (m) => formatAgo(m.modified_at) },
      ]),
    );
    return tags;
  }
}
