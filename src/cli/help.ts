/**
 * mlxm's help class: oclif's help, except for a command that does not exist. `mlxm help nosuch`, `mlxm nosuch --help`
 * and `mlxm --help nosuch` said "Command nosuch not found." and exited 1, where running it (`mlxm nosuch`) says where
 * the command list is and exits 2: now all of them run the same command_not_found hook. `mlxm help nosuch --json`
 * never reaches this class (the help command has no `--json` flag and failed with stack traces): hooks/init.ts
 * sends it to the hook before the command parses its flags.
 */
import { Help, type Interfaces } from "@oclif/core";
import { getHelpFlagAdditions, standardizeIDFromArgv } from "@oclif/core/help";

export default class MlxmHelp extends Help {
  override async showHelp(argv: string[]): Promise<void> {
    const subject = helpSubject(argv, this.config);
    if (subject !== undefined && !this.config.findCommand(subject) && !this.config.findTopic(subject)) {
      // Throws: its message and exit code are the ones `mlxm <subject>` ends with.
      await this.config.runHook("command_not_found", { id: subject, argv });
    }
    await super.showHelp(argv);
  }
}

/** The command or topic id `argv` asks help for, found as oclif's Help finds it (its own function is private). */
export function helpSubject(argv: string[], config: Interfaces.Config): string | undefined {
  const helpFlags = getHelpFlagAdditions(config);
  let args = argv.filter((arg) => !helpFlags.includes(arg));
  if (config.topicSeparator !== ":") args = standardizeIDFromArgv(args, config);
  for (const arg of args) {
    if (arg === "--" || arg.startsWith("-")) return undefined;
    if (arg !== "help") return arg;
  }
  return undefined;
}
