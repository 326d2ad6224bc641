import { Flags } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import type { CreateKeyResponse } from "../../protocol/keys.js";

export default class KeyCreate extends BaseCommand<typeof KeyCreate> {
  static override summary = "Create an API key and print it once; from then on every request to the daemon needs a key.";
  static override examples = ["<%= config.bin %> key create --name laptop", "OPENAI_API_KEY=$(<%= config.bin %> key create --json | jq -r .key)"];
  static override flags = {
    name: Flags.string({ description: "A name to recognise and revoke the key by (default: key-N)." }),
  };

  async run(): Promise<CreateKeyResponse> {
    const created = await (await this.client()).createKey(this.flags.name);
    this.say(`${created.key}\n\nAPI key "${created.name}" created. It is shown only now: store it safely.`);
    return created;
  }
}
