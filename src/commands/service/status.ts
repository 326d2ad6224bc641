import { BaseCommand } from "../../cli/base-command.js";
import { chooseManager, managerFlag } from "../../cli/service/service-command.js";
import { ServiceController, type ServiceStatus } from "../../cli/service/service-manager.js";

export default class ServiceStatusCommand extends BaseCommand<typeof ServiceStatusCommand> {
  static override summary = "Say whether the login service is installed and running.";
  static override flags = { manager: managerFlag };

  async run(): Promise<ServiceStatus> {
    const status = await new ServiceController(chooseManager(this.flags.manager)).status();
    this.say(
      !status.installed ? `no mlxm service installed (${status.manager})`
      : `mlxm service (${status.manager}) ${status.running ? `running${status.pid ? ` (pid ${status.pid})` : ""}` : "installed, not running"}\n  unit  ${status.file}`,
    );
    return status;
  }
}
