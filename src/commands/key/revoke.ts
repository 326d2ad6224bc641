import { Args } from "@oclif/core";
import { BaseCommand } from "../../cli/base-command.js";
import type { RevokeKeyResponse } from "../../protocol/keys.js";

export default class KeyRevoke extends BaseCommand<typeof KeyRevoke> {
  static override summary = "Revoke an API key by name; requests with it are refused at once. Exit code 4 if there is no such key.";
  static override args = { name: Args.string({ description: "The key's name (see `mlxm key ls`).", required: true }) };

  async run(): Promise<RevokeKeyResponse> {
    const revoked = await (await this.client()).revokeKey(this.args.name);
    this.say(`API key "${revoked.revoked}" revoked`);
    return revoked;
  }
}
