/** The LaunchAgent plist for `mlxm serve`, built with the `plist` package (never a string template). */
import { build } from "plist";
import { LAUNCHD_LABEL, type ServiceSpec } from "./service-spec.js";

export function toLaunchdPlist(spec: ServiceSpec): string {
  return build({
    Label: LAUNCHD_LABEL,
    ProgramArguments: [spec.node, spec.script, "serve"],
    EnvironmentVariables: spec.env,
    WorkingDirectory: spec.home,
    RunAtLoad: true,
    // Restart after a crash, not after `mlxm daemon stop` (which exits 0).
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 5,
    // Interactive: launchd must not throttle the CPU of a process that serves a user waiting on tokens.
    ProcessType: "Interactive",
    ExitTimeOut: spec.stopTimeoutS,
    StandardOutPath: spec.logFile,
    StandardErrorPath: spec.logFile,
  });
}
