import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { createRequestFromFlags } from "../cli/preset-flags.js";
import type { StatusResponse } from "../protocol/library.js";

export default class Create extends BaseCommand<typeof Create> {
  static override summary = "Create a preset: a named model made from an existing one with a default system prompt and parameters.";
  static override description = `Requests to the preset get its defaults unless they set their own (a request's system message replaces the preset's). The preset shares its base model's files. A preset file (-f) holds Ollama Modelfile lines: FROM <model>, SYSTEM <text> (or """…"""), PARAMETER <name> <value>; flags win over it. Replaces an existing preset of the same name.`;
  static override examples = [
    '<%= config.bin %> create terse --from mlxm-tiny --system "Answer in one sentence." --temperature 0.2 --ctx 4096',
    "<%= config.bin %> create coder -f ./coder.modelfile",
  ];
  static override args = { name: Args.string({ description: "Name of the new model.", required: true }) };
  static override flags = {
    from: Flags.string({ description: "The existing model it is made from." }),
    file: Flags.string({ char: "f", description: "Preset file (Modelfile FROM/SYSTEM/PARAMETER lines)." }),
    system: Flags.string({ description: "Default system prompt." }),
    temperature: Flags.custom<number>({ description: "Default temperature.", parse: async (v) => number("temperature", v) })(),
    "top-p": Flags.custom<number>({ description: "Default top-p.", parse: async (v) => number("top-p", v) })(),
    "top-k": Flags.integer({ description: "Default top-k.", min: 0 }),
    ctx: Flags.integer({ description: "Context length per request (num_ctx).", min: 64 }),
    "num-predict": Flags.integer({ description: "Default maximum tokens to generate." }),
    seed: Flags.integer({ description: "Default sampling seed." }),
    stop: Flags.string({ description: "Default stop sequence (repeat for several).", multiple: true }),
  };

  async run(): Promise<StatusResponse & { name: string }> {
    const request = await createRequestFromFlags(this.args.name, this.flags);
    const res = await (await this.client()).create(request);
    this.say(`created ${this.args.name} from ${request.from}`);
    return { ...res, name: this.args.name };
  }
}

function number(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new Error(`--${flag} needs a number, got "${value}"`);
  return n;
}
