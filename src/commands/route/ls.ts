import { BaseCommand } from "../../cli/base-command.js";
import { renderRoutes } from "../../cli/route-view.js";
import type { RouteListResponse } from "../../protocol/routes.js";

export default class RouteLs extends BaseCommand<typeof RouteLs> {
  static override summary = "List routes, best priority first (keys are never shown, only where they come from).";
  static override aliases = ["route:list"];
  static override examples = ["<%= config.bin %> route ls", "<%= config.bin %> route ls --json"];

  async run(): Promise<RouteListResponse> {
    const list = await (await this.client()).routes();
    this.say(renderRoutes(list.routes));
    return list;
  }
}
