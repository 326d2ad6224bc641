import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { renderUsage } from "../cli/route-view.js";
import { parseSince } from "../cli/time-args.js";
import { USAGE_GROUPS, type UsageGroup, type UsageResponse } from "../protocol/routes.js";

export default class Usage extends BaseCommand<typeof Usage> {
  static override summary = "Requests, tokens, time to first token and cost, local and routed, from the requests table.";
  static override description = "Cost comes from Pydantic's maintained price table (genai-prices); local models cost 0, unknown prices show as -.";
  static override examples = ["<%= config.bin %> usage", "<%= config.bin %> usage --since 7d --by day", "<%= config.bin %> usage --by backend --json"];
  static override flags = {
    since: Flags.string({ description: "From then on: a duration (24h, 7d) or a time.", default: "24h" }),
    by: Flags.string({ description: "Group rows by.", options: [...USAGE_GROUPS], default: "model" }),
  };

  async run(): Promise<UsageResponse> {
    const usage = await (await this.client()).usage({ since: parseSince(this.flags.since), by: this.flags.by as UsageGroup });
    this.say(renderUsage(usage));
    return usage;
  }
}
