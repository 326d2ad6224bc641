/** What the `mlxm service` commands share: the `--manager` flag and picking the OS's manager. */
import { Flags } from "@oclif/core";
import { ServiceError } from "./service-manager.js";
import { defaultManager, type ServiceManager } from "./service-spec.js";

export const managerFlag = Flags.string({
  description: "launchd or systemd (default: this OS's: launchd on macOS, systemd on Linux).",
  options: ["launchd", "systemd"],
});

export function chooseManager(flag: string | undefined): ServiceManager {
  const manager = (flag as ServiceManager | undefined) ?? defaultManager();
  if (!manager) throw new ServiceError(`no service manager supported on ${process.platform}; run \`mlxm serve\` under your own supervisor`);
  return manager;
}
