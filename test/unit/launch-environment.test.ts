import { expect } from "chai";
import { LAUNCH_DEFAULTS, withLaunchDefaults } from "../../src/cli/launch-environment.js";
import { serviceSpec } from "../../src/cli/service/service-spec.js";
import { resolveConfig } from "../../src/config/config.js";

describe("the environment of daemons mlxm launches", () => {
  it("adds the launch defaults to what the caller leaves unset", () => {
    const env = withLaunchDefaults({ PATH: "/bin", MLXM_HOME: "/h" });
    expect(env).to.include({ PATH: "/bin", MLXM_HOME: "/h", UV_THREADPOOL_SIZE: LAUNCH_DEFAULTS.UV_THREADPOOL_SIZE });
  });

  it("keeps a value the user set, and treats an empty one as unset", () => {
    expect(withLaunchDefaults({ UV_THREADPOOL_SIZE: "16" }).UV_THREADPOOL_SIZE).to.equal("16");
    expect(withLaunchDefaults({ UV_THREADPOOL_SIZE: "" }).UV_THREADPOOL_SIZE).to.equal(LAUNCH_DEFAULTS.UV_THREADPOOL_SIZE);
  });

  it("gives the service unit the same defaults as `daemon start`", () => {
    const config = resolveConfig({}, { MLXM_HOME: "/tmp/mlxm-launch-env" });
    expect(serviceSpec(config, "systemd", { PATH: "/bin" }).env.UV_THREADPOOL_SIZE).to.equal(LAUNCH_DEFAULTS.UV_THREADPOOL_SIZE);
    expect(serviceSpec(config, "systemd", { PATH: "/bin", UV_THREADPOOL_SIZE: "3" }).env.UV_THREADPOOL_SIZE).to.equal("3");
  });
});
