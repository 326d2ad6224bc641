import { BaseCommand } from "../../cli/base-command.js";
import { formatAgo, renderTable } from "../../cli/render.js";
import type { KeyListResponse } from "../../protocol/keys.js";

export default class KeyLs extends BaseCommand<typeof KeyLs> {
  static override summary = "List API keys: name, prefix, created, last used (revoked keys marked).";
  static override aliases = ["key list"];

  async run(): Promise<KeyListResponse> {
    const list = await (await this.client()).keys();
    this.say(
      renderTable(list.keys, [
        { header: "NAME", get: (k) => k.name },
        { header: "PREFIX", get: (k) => `${k.prefix}…` },
        { header: "CREATED", get: (k) => formatAgo(k.created_at) },
        { header: "LAST USED", get: (k) => (k.last_used_at ? formatAgo(k.last_used_at) : "never") },
        { header: "STATUS", get: (k) => (k.revoked_at ? "revoked" : "active") },
      ]),
    );
    return list;
  }
}
