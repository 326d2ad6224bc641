/** An unknown command is a usage error (exit 2), like an unknown flag, with a pointer to the command list. */
import type { Hook } from "@oclif/core";
import { ExitCode } from "../exit-codes.js";

const hook: Hook.CommandNotFound = async function (opts) {
  this.error(`command "${opts.id.replaceAll(":", " ")}" not found; run \`${opts.config.bin} help\` for the list`, {
    exit: ExitCode.USAGE,
  });
};

export default hook;
