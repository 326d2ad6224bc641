import { Args, Flags, ux } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { runImport, type ImportOutcome } from "../cli/import-session.js";

export default class Import extends BaseCommand<typeof Import> {
  static override summary = "Import a GGUF file from disk as a local model: validated like a pull, hashed, then copied, moved or linked.";
  static override description = `The file gets the same checks as a pulled one; a split model (name-00001-of-00003.gguf) is imported whole from any of its parts. --copy (the default) and --move put it in mlxm's content-addressed store; --link keeps it where it is and records its size and mtime, and a linked file that changes is refused until imported again. A bad file is refused with the reason and nothing stays behind; Ctrl-C cancels. --json prints NDJSON progress lines.`;
  static override examples = [
    "<%= config.bin %> import ~/Downloads/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
    "<%= config.bin %> import ./model-00001-of-00002.gguf --name my-model --link",
  ];
  static override args = { file: Args.string({ description: "Path of the GGUF file (any part of a split model).", required: true }) };
  static override flags = {
    name: Flags.string({ description: "Local name (default: the file name without .gguf)." }),
    copy: Flags.boolean({ description: "Copy the file into the store (default).", exclusive: ["move", "link"] }),
    move: Flags.boolean({ description: "Move the file into the store.", exclusive: ["copy", "link"] }),
    link: Flags.boolean({ description: "Keep the file where it is; refuse it if it changes.", exclusive: ["copy", "move"] }),
  };

  /** --json output is NDJSON: progress lines, then this outcome line. */
  protected override logJson(json: unknown): void {
    ux.stdout(JSON.stringify(json));
  }

  async run(): Promise<ImportOutcome> {
    const mode = this.flags.link ? "link" : this.flags.move ? "move" : "copy";
    const outcome = await runImport(await this.client(), this.args.file, {
      name: this.flags.name,
      mode,
      json: this.jsonEnabled(),
      log: (l) => ux.stdout(l),
    });
    this.say(`imported ${outcome.name} (${mode === "link" ? "linked" : mode === "move" ? "moved" : "copied"})`);
    return outcome;
  }
}
