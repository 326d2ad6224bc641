import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "plist";
import { resolveConfig } from "../../src/config/config.js";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { serviceExitCode, toLaunchdPlist } from "../../src/cli/service/launchd.js";
import { ServiceController, type Runner } from "../../src/cli/service/service-manager.js";
import { LAUNCH_DEFAULTS } from "../../src/cli/launch-environment.js";
import { serviceSpec } from "../../src/cli/service/service-spec.js";
import { toSystemdUnit } from "../../src/cli/service/systemd.js";
import { makeTempHome } from "../helpers/temp-home.js";

describe("service units", () => {
  // A home with a space, a quote and a percent sign: the unit formats must escape them, not break.
  const home = path.join(os.tmpdir(), `mlxm svc "x" 100%`);
  const config = resolveConfig({}, { MLXM_HOME: home, MLXM_HOST: "127.0.0.1:10300" });
  const env = { PATH: "/usr/bin:/bin", MLXM_THREADS: "2", HF_TOKEN: "hf_secret", MLXM_NO_AUTOSTART: "1" };

  it("builds a LaunchAgent plist that parses back to absolute paths, restart-on-failure and the environment", () => {
    const spec = serviceSpec(config, "launchd", env);
    const parsed = parse(toLaunchdPlist(spec)) as Record<string, any>;
    expect(parsed.Label).to.equal("dev.mlxm.daemon");
    expect(parsed.ProgramArguments).to.deep.equal([process.execPath, path.resolve("bin/run.js"), "serve"]);
    expect(path.isAbsolute(parsed.ProgramArguments[1])).to.equal(true);
    expect(parsed).to.deep.include({ RunAtLoad: true, KeepAlive: { SuccessfulExit: false }, ProcessType: "Interactive", WorkingDirectory: home });
    expect(parsed.StandardOutPath).to.equal(path.join(home, "logs", "daemon.log"));
    expect(parsed.StandardErrorPath).to.equal(parsed.StandardOutPath);
    expect(parsed.EnvironmentVariables).to.deep.equal({
      MLXM_THREADS: "2",
      MLXM_HOME: home,
      MLXM_HOST: "127.0.0.1:10300",
      MLXM_SERVICE: "launchd",
      PATH: "/usr/bin:/bin",
      UV_THREADPOOL_SIZE: LAUNCH_DEFAULTS.UV_THREADPOOL_SIZE,
    });
  });

  it("keeps a launchd service stopped when another daemon holds the home: exit 0 there, 5 everywhere else", () => {
    // launchd restarts on any unsuccessful exit and cannot skip one code, as systemd's RestartPreventExitStatus=5 does.
    const parsed = parse(toLaunchdPlist(serviceSpec(config, "launchd", env))) as Record<string, any>;
    expect(parsed.KeepAlive).to.deep.equal({ SuccessfulExit: false });
    expect(parsed.EnvironmentVariables.MLXM_SERVICE).to.equal("launchd");
    expect(serviceExitCode(ExitCode.ALREADY_RUNNING, parsed.EnvironmentVariables.MLXM_SERVICE)).to.equal(ExitCode.OK);
    expect(serviceExitCode(ExitCode.ALREADY_RUNNING, "systemd")).to.equal(ExitCode.ALREADY_RUNNING);
    expect(serviceExitCode(ExitCode.ALREADY_RUNNING, undefined)).to.equal(ExitCode.ALREADY_RUNNING);
    // Every other failure is still a failure, so launchd restarts after a crash.
    for (const exit of [ExitCode.FAILURE, ExitCode.USAGE, ExitCode.DAEMON_UNREACHABLE]) expect(serviceExitCode(exit, "launchd")).to.equal(exit);
  });

  it("writes a systemd user unit that systemd-analyze verifies", function () {
    const unit = toSystemdUnit(serviceSpec(config, "systemd", env));
    expect(unit).to.contain("Type=simple").and.contain("Restart=on-failure").and.contain("WantedBy=default.target");
    // Exit 5 (another daemon holds the home) is not retried every 2 s forever.
    expect(unit).to.contain("RestartPreventExitStatus=5");
    expect(unit).to.contain(`Environment="MLXM_HOME=${home.replaceAll('"', '\\"').replaceAll("%", "%%")}"`);
    expect(unit).not.to.contain("hf_secret");
    if (spawnSync("systemd-analyze", ["--version"]).status !== 0) this.skip();
    const { home: dir, cleanup } = makeTempHome();
    try {
      const file = path.join(dir, "mlxm.service");
      fs.writeFileSync(file, unit);
      fs.mkdirSync(home, { recursive: true });
      // --man=no: no man pages here; the verify exits non-zero on any unit error.
      const r = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8" });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).not.to.match(/mlxm\.service:\d+:/);
    } finally {
      cleanup();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("installs with launchctl bootstrap and systemctl --user enable --now, and uninstalls", async () => {
    const { home: fakeHome, cleanup } = makeTempHome();
    try {
      const calls: string[] = [];
      const runner: Runner = async (cmd, args) => {
        calls.push([cmd, ...args].join(" "));
        return { code: 0, stdout: cmd === "systemctl" && args.includes("is-active") ? "active\n" : "", stderr: "" };
      };
      const launchd = new ServiceController("launchd", runner, fakeHome, 501);
      await launchd.install(serviceSpec(config, "launchd", env));
      expect(fs.existsSync(launchd.file)).to.equal(true);
      // launchd would create its log 0644: it exists, 0600, in a 0700 home, before launchd opens it.
      expect(fs.statSync(path.join(home, "logs", "daemon.log")).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(home).mode & 0o777).to.equal(0o700);
      const systemd = new ServiceController("systemd", runner, fakeHome, 501);
      const status = await systemd.install(serviceSpec(config, "systemd", env));
      expect(status).to.include({ manager: "systemd", installed: true, running: true });
      expect(await systemd.uninstall()).to.equal(true);
      expect(fs.existsSync(systemd.file)).to.equal(false);
      expect(calls).to.include.members([
        "launchctl bootout gui/501/dev.mlxm.daemon",
        `launchctl bootstrap gui/501 ${launchd.file}`,
        "systemctl --user daemon-reload",
        "systemctl --user enable --now mlxm.service",
        "systemctl --user disable --now mlxm.service",
      ]);
    } finally {
      cleanup();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
