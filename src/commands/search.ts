import { Args, Flags } from "@oclif/core";
import { BaseCommand, hubTokenForDaemon } from "../cli/base-command.js";
import { renderSearchResults } from "../cli/search-view.js";
import { SearchSort, type SearchResponse } from "../protocol/library.js";

export default class Search extends BaseCommand<typeof Search> {
  static override summary = "Search the Hugging Face Hub for GGUF models: each repo's quantisations with their sizes, ready for `mlxm pull`.";
  static override examples = ['<%= config.bin %> search "qwen2.5 0.5b"', "<%= config.bin %> search llama --sort trending --limit 5 --json"];
  static override args = { query: Args.string({ description: "Words to look for in repo names (quote several).", required: true }) };
  static override flags = {
    limit: Flags.integer({ description: "Repos to show (1-50).", default: 10, min: 1, max: 50 }),
    sort: Flags.option({ description: "Order of the results.", options: SearchSort.options, default: "downloads" as const })(),
  };

  async run(): Promise<SearchResponse> {
    const res = await (await this.client()).search(this.args.query, {
      limit: this.flags.limit,
      sort: this.flags.sort,
      hubToken: hubTokenForDaemon(this.settings),
    });
    this.say(renderSearchResults(res));
    return res;
  }
}
