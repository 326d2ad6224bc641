import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import type { RemoveRouteResponse } from "../../protocol/routes.js";

export default class RouteRm extends BaseCommand<typeof RouteRm> {
  static override summary = "Remove the route with this pattern (and its stored key).";
  static override args = { pattern: Args.string({ description: "The pattern, exactly as `mlxm route ls` shows it.", required: true }) };

  async run(): Promise<RemoveRouteResponse> {
    const res = await (await this.client()).removeRoute(this.args.pattern);
    this.say(`removed route ${this.args.pattern}`);
    return res;
  }
}
