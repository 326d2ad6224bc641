/**
 * What a service unit runs: this very installation's node and `bin/run.js` (absolute paths, so an installed
 * package runs the installed copy), `mlxm serve` in the foreground, and the environment it needs.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MlxmConfig } from "../../config/config.js";
import { VARIABLES } from "../../config/variables.js";
import { daemonLogPath } from "../daemon-control.js";
import { launchSettings } from "../launch-environment.js";

export type ServiceManager = "launchd" | "systemd";

export const LAUNCHD_LABEL = "dev.mlxm.daemon";
export const SYSTEMD_UNIT = "mlxm.service";

export interface ServiceSpec {
  manager: ServiceManager;
  node: string;
  script: string;
  home: string;
  /** stdout/stderr file for launchd (systemd logs to the journal). */
  logFile: string;
  env: Record<string, string>;
  /** How long the manager waits after SIGTERM: the drain grace plus a margin. */
  stopTimeoutS: number;
}

/** bin/run.js of this installation, from this module's place in src/cli/service or dist/cli/service. */
const RUN_JS = fileURLToPath(new URL("../../../bin/run.js", import.meta.url));

/**
 * The unit's environment: MLXM_HOME and MLXM_HOST always; PATH; the launch defaults every daemon mlxm starts gets
 * (see launch-environment.ts); MLXM_SERVICE so the daemon knows it is supervised; and any other non-secret variable
 * set now. Secrets (tokens, provider keys) are never written into a unit file.
 */
export function serviceSpec(config: MlxmConfig, manager: ServiceManager, env: Readonly<Record<string, string | undefined>>): ServiceSpec {
  const unitEnv: Record<string, string> = {};
  for (const spec of VARIABLES) {
    const value = env[spec.name];
    if (value && !("secret" in spec && spec.secret)) unitEnv[spec.name] = value;
  }
  Object.assign(unitEnv, {
    MLXM_HOME: config.home,
    MLXM_HOST: `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`,
    MLXM_SERVICE: manager,
    PATH: env.PATH ?? `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
  });
  Object.assign(unitEnv, launchSettings(env));
  delete unitEnv.MLXM_NO_AUTOSTART;
  return {
    manager,
    node: process.execPath,
    script: RUN_JS,
    home: config.home,
    logFile: daemonLogPath(config.home),
    env: unitEnv,
    stopTimeoutS: Math.ceil(config.shutdownGraceMs / 1000) + 10,
  };
}

/** The manager of this OS, or undefined where mlxm has none (Windows). */
export function defaultManager(platform: NodeJS.Platform = process.platform): ServiceManager | undefined {
  return platform === "darwin" ? "launchd" : platform === "linux" ? "systemd" : undefined;
}
