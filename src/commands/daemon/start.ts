import { BaseCommand } from "../../cli/base-command.js";
import { daemonLogPath, startBackgroundDaemon } from "../../cli/daemon-control.js";
import { cliTraceHeaders } from "../../cli/trace-context.js";
import type { HealthResponse } from "../../protocol/native.js";

export default class DaemonStart extends BaseCommand<typeof DaemonStart> {
  static override summary = "Start the daemon in the background; returns once it answers.";

  async run(): Promise<HealthResponse & { log: string }> {
    const health = await startBackgroundDaemon(this.settings, this.rawClient(), { traceparent: cliTraceHeaders().traceparent });
    const log = daemonLogPath(this.settings.home);
    this.say(`mlxm daemon ${health.version} running (pid ${health.pid}) at http://${health.address}\nlog: ${log}`);
    return { ...health, log };
  }
}
