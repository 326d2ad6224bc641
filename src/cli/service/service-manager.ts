/**
 * Install, remove and inspect the mlxm service with the OS's manager: a LaunchAgent loaded with
 * `launchctl bootstrap gui/<uid>` on macOS, a systemd user unit enabled with `systemctl --user enable --now` on
 * Linux. The commands run through an injected runner, so tests can check what would be run.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureHome, ensurePrivateFile, makePrivateDir } from "../../home/home-dir.js";
import { toLaunchdPlist } from "./launchd.js";
import { LAUNCHD_LABEL, SYSTEMD_UNIT, type ServiceManager, type ServiceSpec } from "./service-spec.js";
import { toSystemdUnit } from "./systemd.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
export type Runner = (cmd: string, args: string[]) => Promise<RunResult>;

/** A service command that failed, with the manager's own words. */
export class ServiceError extends Error {
  readonly code = "service_failed";
  constructor(message: string) {
    super(message);
    this.name = "ServiceError";
  }
}

export interface ServiceStatus {
  manager: ServiceManager;
  /** The unit file, and whether it exists. */
  file: string;
  installed: boolean;
  /** Loaded (launchd) or active (systemd). */
  running: boolean;
  pid?: number;
}

export const execRunner: Runner = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stdout ? err.message : "")) });
    });
  });

/** The unit file's text for a spec. */
export function renderUnit(spec: ServiceSpec): string {
  return spec.manager === "launchd" ? toLaunchdPlist(spec) : toSystemdUnit(spec);
}

export function unitPath(manager: ServiceManager, homeDir = os.homedir()): string {
  return manager === "launchd"
    ? path.join(homeDir, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`)
    : path.join(homeDir, ".config", "systemd", "user", SYSTEMD_UNIT);
}

export class ServiceController {
  constructor(
    private readonly manager: ServiceManager,
    private readonly run: Runner = execRunner,
    private readonly homeDir = os.homedir(),
    private readonly uid = process.getuid?.() ?? 0,
  ) {}

  get file(): string {
    return unitPath(this.manager, this.homeDir);
  }

  /** Write the unit and start it (replacing a previous install). */
  async install(spec: ServiceSpec): Promise<ServiceStatus> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    ensureHome(spec.home);
    makePrivateDir(path.dirname(spec.logFile));
    // launchd would create the log with its own mode (0644): made 0600 first, as the background daemon's is.
    if (this.manager === "launchd") ensurePrivateFile(spec.logFile);
    // 0600: the unit's environment may hold a collector or Hub URL with credentials in it.
    fs.writeFileSync(this.file, renderUnit(spec), { mode: 0o600 });
    fs.chmodSync(this.file, 0o600);
    if (this.manager === "launchd") {
      // bootstrap fails when the label is already loaded: unload any previous copy first.
      await this.run("launchctl", ["bootout", this.domainTarget()]);
      await this.must("launchctl", ["bootstrap", `gui/${this.uid}`, this.file]);
    } else {
      await this.must("systemctl", ["--user", "daemon-reload"]);
      await this.must("systemctl", ["--user", "enable", "--now", SYSTEMD_UNIT]);
    }
    return this.status();
  }

  /** Stop the service and remove its unit; true when there was one. */
  async uninstall(): Promise<boolean> {
    const existed = fs.existsSync(this.file);
    if (this.manager === "launchd") {
      await this.run("launchctl", ["bootout", this.domainTarget()]);
    } else {
      await this.run("systemctl", ["--user", "disable", "--now", SYSTEMD_UNIT]);
    }
    fs.rmSync(this.file, { force: true });
    if (this.manager === "systemd") await this.run("systemctl", ["--user", "daemon-reload"]);
    return existed;
  }

  async status(): Promise<ServiceStatus> {
    const base = { manager: this.manager, file: this.file, installed: fs.existsSync(this.file) };
    if (this.manager === "launchd") {
      const r = await this.run("launchctl", ["print", this.domainTarget()]);
      const pid = /^\s*pid = (\d+)/m.exec(r.stdout)?.[1];
      return { ...base, running: r.code === 0 && /state = running/.test(r.stdout), ...(pid ? { pid: Number(pid) } : {}) };
    }
    const active = await this.run("systemctl", ["--user", "is-active", SYSTEMD_UNIT]);
    const pid = Number((await this.run("systemctl", ["--user", "show", "-p", "MainPID", "--value", SYSTEMD_UNIT])).stdout.trim());
    return { ...base, running: active.stdout.trim() === "active", ...(pid > 0 ? { pid } : {}) };
  }

  private domainTarget(): string {
    return `gui/${this.uid}/${LAUNCHD_LABEL}`;
  }

  private async must(cmd: string, args: string[]): Promise<void> {
    const r = await this.run(cmd, args);
    if (r.code !== 0) throw new ServiceError(`\`${cmd} ${args.join(" ")}\` failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
}
