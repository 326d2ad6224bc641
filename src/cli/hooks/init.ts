/**
 * `mlxm help … --json`: the help command has no `--json` flag, so its parser refused the flag (exit 2 "Nonexistent
 * flag", or for an unknown command two stack traces and exit 1). For an unknown command it answers as
 * `mlxm <unknown> --json` does; otherwise the flag is dropped, so `mlxm help ls --json` prints the help and exits 0,
 * as `mlxm ls --help --json` does. Anything else passes through untouched.
 */
import type { Hook } from "@oclif/core";
import { wantsJson } from "./command-not-found.js";

const hook: Hook.Init = async function (opts) {
  if (opts.id !== "help" || !wantsJson(opts.argv)) return;
  const { helpSubject } = await import("../help.js");
  const subject = helpSubject(opts.argv, opts.config);
  if (subject !== undefined && !opts.config.findCommand(subject) && !opts.config.findTopic(subject)) {
    await opts.config.runHook("command_not_found", { id: subject, argv: opts.argv });
  }
  // In place: oclif hands this same array to the help command once the hook returns.
  opts.argv.splice(opts.argv.indexOf("--json"), 1);
};

export default hook;
