import { BaseCommand } from "../../cli/base-command.js";
import { stopDaemon, type StopResult } from "../../cli/daemon-control.js";

export default class DaemonStop extends BaseCommand<typeof DaemonStop> {
  static override summary = "Stop the background daemon: it finishes in-flight requests first.";

  async run(): Promise<StopResult> {
    const result = await stopDaemon(this.settings);
    if (result.pid === undefined) this.say("no mlxm daemon running");
    else if (result.running) this.say(`daemon (pid ${result.pid}) is still running: it did not stop, even when killed`);
    else if (result.forced) this.say(`daemon (pid ${result.pid}) did not stop in time and was killed`);
    else this.say(`daemon (pid ${result.pid}) stopped${result.service ? ` (managed by ${result.service}: it starts again at the next login; \`mlxm service uninstall\` removes it)` : ""}`);
    return result;
  }
}
