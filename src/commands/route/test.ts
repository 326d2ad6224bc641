import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { renderRouteTest } from "../../cli/route-view.js";
import type { RouteTestResponse } from "../../protocol/routes.js";

export default class RouteTest extends BaseCommand<typeof RouteTest> {
  static override summary = "Resolve a model name and make one tiny request: prints the backend that served it, latency and tokens.";
  static override args = { model: Args.string({ description: "Model name as a client would send it.", required: true }) };

  async run(): Promise<RouteTestResponse> {
    const res = await (await this.client()).testRoute(this.args.model);
    this.say(renderRouteTest(res));
    return res;
  }
}
