/**
 * An unknown command is a usage error (exit 2), like an unknown flag, with a pointer to the command list. With
 * `--json` it is the same JSON error document a command's usage error prints (base-command.ts), on stdout.
 */
import { ux, type Hook } from "@oclif/core";
import { ExitCode } from "../exit-codes.js";
import { traceCommandFailure } from "../trace-context.js";

const hook: Hook.CommandNotFound = async function (opts) {
  const message = opts.id.startsWith("-")
    ? `no command before the flag "${opts.id}"; run \`${opts.config.bin} help\` for the list`
    : `command "${opts.id.replaceAll(":", " ")}" not found; run \`${opts.config.bin} help\` for the list`;
  // `mlxm --json` with no command: oclif takes the flag itself for the command id.
  if (wantsJson([opts.id, ...(opts.argv ?? [])])) {
    traceCommandFailure("usage_error", message, ExitCode.USAGE);
    ux.stdout(ux.colorizeJson({ error: { code: "usage_error", message } }, { pretty: true, theme: opts.config.theme?.json }));
    this.exit(ExitCode.USAGE);
  }
  this.error(message, { exit: ExitCode.USAGE });
};

/** Whether the command line asks for JSON: `--json` before any `--` (after it, it is an argument). */
export function wantsJson(argv: readonly string[] | undefined): boolean {
  for (const arg of argv ?? []) {
    if (arg === "--") return false;
    if (arg === "--json") return true;
  }
  return false;
}

export default hook;
