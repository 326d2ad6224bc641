import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { chatInteractively, readAll, streamAnswer, type ChatSettings, type RunResult } from "../cli/chat-session.js";

export default class Run extends BaseCommand<typeof Run> {
  static override summary = "Chat with a model: answer one prompt (argument or piped stdin), or chat interactively on a terminal.";
  static override examples = [
    '<%= config.bin %> run mlxm-tiny "Why is the sky blue?"',
    "echo 'Summarise this' | <%= config.bin %> run mlxm-tiny",
    "<%= config.bin %> run mlxm-tiny",
    '<%= config.bin %> run mlxm-tiny "List three colours" --format json --json',
  ];
  static override args = {
    model: Args.string({ description: "Model name", required: true }),
    prompt: Args.string({ description: "The prompt; without it, stdin when piped, else an interactive chat" }),
  };
  static override flags = {
    system: Flags.string({ description: "System message" }),
    temperature: Flags.custom<number>({
      description: "Sampling temperature (0 = greedy)",
      parse: async (raw) => {
        const n = Number(raw);
        if (!Number.isFinite(n) || n < 0) throw new Error(`--temperature must be a number ≥ 0, got "${raw}"`);
        return n;
      },
    })(),
    seed: Flags.integer({ description: "Random seed, for repeatable answers" }),
    "max-tokens": Flags.integer({ description: "Most tokens to generate", min: 1 }),
    "keep-alive": Flags.string({ description: "How long the model stays loaded afterwards (5m, 1h, 0 unloads, -1 forever)" }),
    format: Flags.string({ description: "Answer in JSON", options: ["json"] }),
  };

  async run(): Promise<RunResult | undefined> {
    const { flags, args } = this;
    const client = await this.client();
    const settings: ChatSettings = {
      model: args.model,
      options: { temperature: flags.temperature, seed: flags.seed, num_predict: flags["max-tokens"] },
      ...(flags.format ? { format: flags.format as "json" } : {}),
      ...(flags["keep-alive"] !== undefined ? { keep_alive: flags["keep-alive"] } : {}),
    };
    let prompt = args.prompt;
    if (prompt === undefined && !process.stdin.isTTY) prompt = (await readAll(process.stdin)).trim();
    if (prompt === undefined) {
      if (this.jsonEnabled()) this.error("--json needs a prompt (an argument or piped stdin)", { exit: 2 });
      // Load first, so an unknown model fails before the first question.
      await client.load(args.model, flags["keep-alive"]);
      await chatInteractively({ client, settings, system: flags.system, input: process.stdin, output: process.stdout });
      return undefined;
    }
    if (prompt === "") this.error("the prompt is empty", { exit: 2 });
    const messages = [...(flags.system ? [{ role: "system" as const, content: flags.system }] : []), { role: "user" as const, content: prompt }];
    const json = this.jsonEnabled();
    const onText = json ? () => {} : (text: string) => void process.stdout.write(text);
    const result = await streamAnswer(client, { ...settings, messages }, onText);
    if (!json) process.stdout.write("\n");
    return result;
  }
}
