import { BaseCommand } from "../../cli/base-command.js";
import { chooseManager, managerFlag } from "../../cli/service/service-command.js";
import { ServiceController } from "../../cli/service/service-manager.js";

export default class ServiceUninstall extends BaseCommand<typeof ServiceUninstall> {
  static override summary = "Stop the login service and remove its unit file.";
  static override flags = { manager: managerFlag };

  async run(): Promise<{ removed: boolean }> {
    const removed = await new ServiceController(chooseManager(this.flags.manager)).uninstall();
    this.say(removed ? "mlxm service removed" : "no mlxm service was installed");
    return { removed };
  }
}
