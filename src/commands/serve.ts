import { Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { serviceExitCode } from "../cli/service/launchd.js";
import { variablesHelp } from "../cli/variables-help.js";
import { createLogger } from "../observability/logger.js";
import { runDaemonUntilSignalled } from "../daemon/run.js";
import { VERSION } from "../version.js";

export default class Serve extends BaseCommand<typeof Serve> {
  static override summary = "Run the mlxm daemon in this terminal (Ctrl-C stops it cleanly).";
  static override description = `Runs the daemon in the foreground: the native API (/api), the OpenAI- and Anthropic-compatible APIs and /metrics. Use this under launchd or systemd too; \`mlxm daemon start\` runs the same daemon in the background.

ENVIRONMENT
${variablesHelp()}`;
  static override enableJsonFlag = false;
  static override examples = ["<%= config.bin %> serve", "MLXM_HOST=0.0.0.0:8080 <%= config.bin %> serve"];
  static override flags = {
    "log-level": Flags.string({ description: "Log level (overrides MLXM_LOG_LEVEL)." }),
  };

  protected override configOverrides() {
    return { ...super.configOverrides(), MLXM_LOG_LEVEL: this.flags["log-level"] };
  }

  /** Under launchd, "already running" exits 0, or launchd would restart it for ever (see serviceExitCode). */
  protected override exitCodeFor(exit: number): number {
    const code = serviceExitCode(exit, this.settings?.security.service);
    // Said in the service's log, beside the error, so an exit 0 there is not taken for a clean stop.
    if (code !== exit) this.logToStderr(`exiting ${code}, not ${exit}, so that launchd does not restart this service while that daemon runs`);
    return code;
  }

  async run(): Promise<void> {
    const logger = createLogger({ level: this.settings.logLevel });
    await runDaemonUntilSignalled({ config: this.settings, logger, version: VERSION });
    // The daemon has stopped and the spans a dead trace backend could not take are dropped, but that backend's
    // half-open socket would keep the process alive until the export timeout: end now.
    this.exit(0);
  }
}
