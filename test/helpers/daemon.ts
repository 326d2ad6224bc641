/**
 * An in-process daemon on port 0 for integration tests: the real startDaemon with a temp MLXM_HOME.
 */
import { resolveConfig, type Overrides } from "../../src/config/config.js";
import { startDaemon, type RunningDaemon } from "../../src/daemon/main.js";
import { MlxmClient } from "../../src/client/mlxm-client.js";
import { silentLogger } from "../../src/observability/logger.js";
import { readAdminToken } from "../../src/daemon/auth/admin-token.js";
import { makeTempHome } from "./temp-home.js";

export interface TestDaemon {
  daemon: RunningDaemon;
  baseUrl: string;
  home: string;
  /** A client without credentials: enough while the daemon is open (loopback, no keys). */
  client: MlxmClient;
  /** A client with the admin token, as the local CLI sends it: for what only the admin may do (routes, imports). */
  admin: MlxmClient;
  /** The local admin token the daemon wrote in its home (what the CLI authenticates with). */
  adminToken: string;
  stop(): Promise<void>;
}

export async function startTestDaemon(overrides: Overrides = {}): Promise<TestDaemon> {
  const { home, cleanup } = makeTempHome();
  const config = resolveConfig({}, { MLXM_HOME: home, MLXM_HOST: "127.0.0.1:0", MLXM_SHUTDOWN_GRACE: "2s", ...overrides });
  const daemon = await startDaemon({ config, logger: silentLogger(), version: "0.0.0-test" });
  const baseUrl = `http://127.0.0.1:${daemon.port}`;
  return {
    daemon,
    baseUrl,
    home,
    adminToken: readAdminToken(home)!,
    client: new MlxmClient({ baseUrl }),
    admin: new MlxmClient({ baseUrl, apiKey: readAdminToken(home)! }),
    async stop() {
      await daemon.close();
      cleanup();
    },
  };
}
