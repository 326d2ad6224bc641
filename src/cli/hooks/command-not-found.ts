/**
 * An unknown command is a usage error (exit 2), like an unknown flag, with a pointer to the command list. With
 * `--json` it is the same JSON error document a command's usage error prints (base-command.ts), on stdout.
 */
import { ux, type Hook, type Interfaces } from "@oclif/core";
import { ExitCode } from "../exit-codes.js";
import { traceCommandFailure } from "../trace-context.js";

const hook: Hook.CommandNotFound = async function (opts) {
  const message = notFoundMessage(opts.id, opts.config);
  // `mlxm --json` with no command: oclif takes the flag itself for the command id.
  if (wantsJson([opts.id, ...(opts.argv ?? [])])) {
    traceCommandFailure("usage_error", message, ExitCode.USAGE);
    ux.stdout(ux.colorizeJson({ error: { code: "usage_error", message } }, { pretty: true, theme: opts.config.theme?.json }));
    this.exit(ExitCode.USAGE);
  }
  this.error(message, { exit: ExitCode.USAGE });
};

/**
 * What went wrong. With spaces as the topic separator, oclif reads `mlxm ls extra` as the command "ls:extra": when a
 * leading part is a command, the rest is an argument it does not take (it said `command "ls extra" not found`).
 */
function notFoundMessage(id: string, config: Interfaces.Config): string {
  const list = `run \`${config.bin} help\` for the list`;
  if (id.startsWith("-")) return `no command before the flag "${id}"; ${list}`;
  const parts = id.split(":");
  for (let n = parts.length - 1; n > 0; n--) {
    const command = parts.slice(0, n).join(":");
    if (config.findCommand(command)) {
      const name = `${config.bin} ${command.replaceAll(":", " ")}`;
      return `unexpected argument "${parts[n]}" for \`${name}\`; see \`${name} --help\``;
    }
  }
  return `command "${parts.join(" ")}" not found; ${list}`;
}

/** Whether the command line asks for JSON: `--json` before any `--` (after it, it is an argument). */
export function wantsJson(argv: readonly string[] | undefined): boolean {
  for (const arg of argv ?? []) {
    if (arg === "--") return false;
    if (arg === "--json") return true;
  }
  return false;
}

export default hook;
