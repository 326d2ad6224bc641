/** The systemd user unit for `mlxm serve`: simple service, restarted on failure, logging to the journal. */
import { ExitCode } from "../exit-codes.js";
import type { ServiceSpec } from "./service-spec.js";

export function toSystemdUnit(spec: ServiceSpec): string {
  const env = Object.entries(spec.env).map(([k, v]) => `Environment=${quote(`${k}=${v}`)}`);
  return [
    "[Unit]",
    "Description=mlxm daemon (local LLM server)",
    "After=network.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[spec.node, spec.script, "serve"].map(quoteExec).join(" ")}`,
    // A path setting: taken verbatim to the line's end (no quoting), only `%` specifiers need escaping.
    `WorkingDirectory=${spec.home.replaceAll("%", "%%")}`,
    ...env,
    // `mlxm daemon stop` exits 0 and stays stopped; a crash is restarted.
    "Restart=on-failure",
    "RestartSec=2",
    // Exit 5: another daemon already holds MLXM_HOME (one started with `mlxm daemon start`): restarting every 2 s
    // cannot help, and each start takes longer than that, so systemd's own start limit would never stop it.
    `RestartPreventExitStatus=${ExitCode.ALREADY_RUNNING}`,
    "KillSignal=SIGTERM",
    `TimeoutStopSec=${spec.stopTimeoutS}`,
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

/** A double-quoted systemd value: backslashes and quotes escaped, `%` specifiers doubled. */
function quote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("%", "%%")}"`;
}

/** ExecStart also expands `$VAR`: doubled to stay literal. */
function quoteExec(value: string): string {
  return quote(value).replaceAll("$", "$$$$");
}
