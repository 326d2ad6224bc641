/** The LaunchAgent plist for `mlxm serve`, built with the `plist` package (never a string template). */
import { build } from "plist";
import { ExitCode } from "../exit-codes.js";
import { LAUNCHD_LABEL, type ServiceSpec } from "./service-spec.js";

export function toLaunchdPlist(spec: ServiceSpec): string {
  return build({
    Label: LAUNCHD_LABEL,
    ProgramArguments: [spec.node, spec.script, "serve"],
    EnvironmentVariables: spec.env,
    WorkingDirectory: spec.home,
    RunAtLoad: true,
    // Restart after a crash, not after `mlxm daemon stop` (which exits 0), nor when another daemon holds the home
    // (which exits 0 under launchd: see serviceExitCode).
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 5,
    // Interactive: launchd must not throttle the CPU of a process that serves a user waiting on tokens.
    ProcessType: "Interactive",
    ExitTimeOut: spec.stopTimeoutS,
    StandardOutPath: spec.logFile,
    StandardErrorPath: spec.logFile,
  });
}

/**
 * The exit code `mlxm serve` ends with, given the service manager that runs it (MLXM_SERVICE, set by the unit).
 * Exit 5 (another daemon, one `mlxm daemon start` began, holds MLXM_HOME) cannot be cured by a restart. systemd is told
 * so (RestartPreventExitStatus=5), but launchd's KeepAlive knows only a successful exit from a failed one, so under
 * launchd it would start `serve` again every ThrottleInterval for as long as the other daemon runs. There the case
 * exits 0: the job's purpose, a daemon serving this home, is met, and the service stays stopped until the next login
 * or `launchctl kickstart`, as under systemd. Every other caller keeps exit 5.
 */
export function serviceExitCode(exit: number, service: string | undefined): number {
  return service === "launchd" && exit === ExitCode.ALREADY_RUNNING ? ExitCode.OK : exit;
}
