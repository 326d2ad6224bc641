import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { daemonLogPath } from "../../cli/daemon-control.js";
import { followLog, printLog } from "../../cli/log-view.js";
import { runningDaemon } from "../../home/pid-file.js";

export default class DaemonLogs extends BaseCommand<typeof DaemonLogs> {
  static override summary = "Show the background daemon's log.";
  static override enableJsonFlag = false;
  static override flags = {
    follow: Flags.boolean({ char: "f", description: "Keep printing new lines until Ctrl-C." }),
    lines: Flags.integer({ char: "n", description: "How many of the last lines to show (0: none, e.g. with -f).", default: 100, min: 0 }),
    raw: Flags.boolean({ description: "Print the JSON lines as written, even on a terminal." }),
  };

  async run(): Promise<void> {
    const file = daemonLogPath(this.settings.home);
    // A systemd-managed daemon logs to the journal, not to the file.
    if (runningDaemon(this.settings.home)?.service === "systemd") this.logToStderr("the daemon runs under systemd and logs to the journal: journalctl --user -u mlxm");
    const pretty = !this.flags.raw && Boolean(process.stdout.isTTY);
    const offset = printLog(file, this.flags.lines, pretty, (l) => this.log(l));
    if (this.flags.follow) await followLog(file, offset, pretty, (l) => this.log(l));
  }
}
