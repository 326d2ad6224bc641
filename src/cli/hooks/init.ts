/**
 * `mlxm help <unknown> --json` answers as `mlxm <unknown> --json` does: the help command has no `--json` flag, so
 * its parser refused the flag and oclif's error handler then printed help for the unknown command, with two stack
 * traces and exit 1. Anything else passes through untouched.
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
};

export default hook;
