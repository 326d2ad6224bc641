import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import { chooseManager, managerFlag } from "../../cli/service/service-command.js";
import { renderUnit, ServiceController, type ServiceStatus } from "../../cli/service/service-manager.js";
import { serviceSpec } from "../../cli/service/service-spec.js";

export default class ServiceInstall extends BaseCommand<typeof ServiceInstall> {
  static override summary = "Run the daemon as a login service (launchd LaunchAgent on macOS, systemd user unit on Linux), restarted if it crashes.";
  static override examples = ["<%= config.bin %> service install", "<%= config.bin %> service install --print --manager systemd > mlxm.service"];
  static override flags = {
    print: Flags.boolean({ description: "Write the unit file to stdout instead of installing it (any OS)." }),
    manager: managerFlag,
  };

  async run(): Promise<ServiceStatus | { unit: string }> {
    const manager = chooseManager(this.flags.manager);
    const spec = serviceSpec(this.settings, manager, process.env);
    if (this.flags.print) {
      const unit = renderUnit(spec);
      if (!this.jsonEnabled()) process.stdout.write(unit);
      return { unit };
    }
    const status = await new ServiceController(manager).install(spec);
    this.say(`mlxm service installed (${manager}): ${status.file}\n${status.running ? `running${status.pid ? ` (pid ${status.pid})` : ""}` : "not running yet"}`);
    return status;
  }
}
