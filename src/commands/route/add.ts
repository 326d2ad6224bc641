import { Args, Flags } from "@oclif/core";
import { CLIError } from "@oclif/core/errors";
import { BaseCommand } from "../../cli/base-command.js";
import { readAll } from "../../cli/chat-session.js";
import { renderRoutes } from "../../cli/route-view.js";
import { parseDuration } from "../../config/parse.js";
import { PROVIDERS, type RouteEntry } from "../../protocol/routes.js";

export default class RouteAdd extends BaseCommand<typeof RouteAdd> {
  static override summary = "Route a model name (or glob) to OpenAI, Anthropic, an OpenAI-compatible server or another mlxm daemon.";
  static override description =
    "Patterns are exact names or globs, tried by priority (highest first). A local model of the same name wins unless --prefer-remote. The key is read from --api-key-env at request time, or given on stdin with --api-key-stdin and stored encrypted; it is never shown again.";
  static override examples = [
    "<%= config.bin %> route add 'gpt-*' --provider openai",
    "<%= config.bin %> route add claude --provider anthropic --model claude-sonnet-4-5 --api-key-env MY_ANTHROPIC_KEY",
    "printf %s \"$KEY\" | <%= config.bin %> route add fast --provider openai-compatible --base-url http://gpu-box:8000/v1 --api-key-stdin",
    "<%= config.bin %> route add llama3 --provider mlxm --base-url http://other-host:10242 --fallback gpt-4o-mini",
  ];
  static override args = { pattern: Args.string({ description: "Model name or glob (quote globs in the shell).", required: true }) };
  static override flags = {
    provider: Flags.string({ description: "Where requests go.", options: [...PROVIDERS], required: true }),
    model: Flags.string({ description: "Model name sent upstream (default: the requested name)." }),
    "base-url": Flags.string({ description: "Upstream base URL (required for openai-compatible and mlxm)." }),
    "api-key-env": Flags.string({ description: "Environment variable of the daemon holding the key, read per request.", exclusive: ["api-key-stdin"] }),
    "api-key-stdin": Flags.boolean({ description: "Read the key from stdin and store it encrypted." }),
    fallback: Flags.string({ description: "Model to serve the request when this upstream fails before the first byte." }),
    priority: Flags.integer({ description: "Higher is tried first among matching patterns.", default: 0 }),
    timeout: Flags.string({ description: "How long one attempt waits for the upstream's answer to begin, e.g. 60s (a failed attempt is retried twice, as the SDKs do, before the fallback)." }),
    "prefer-remote": Flags.boolean({ description: "Let the route win over a local model of the same name." }),
    "max-concurrency": Flags.integer({ description: "Most requests in flight on this route (429 beyond).", min: 1 }),
    rpm: Flags.integer({ description: "Most requests per minute on this route (429 beyond).", min: 1 }),
    replace: Flags.boolean({ description: "Replace an existing route with the same pattern." }),
  };

  async run(): Promise<RouteEntry> {
    const f = this.flags;
    let apiKey: string | undefined;
    if (f["api-key-stdin"]) {
      if (process.stdin.isTTY) throw new CLIError("--api-key-stdin reads the key from a pipe, e.g. `printf %s \"$KEY\" | mlxm route add …`", { exit: 2 });
      apiKey = (await readAll(process.stdin)).trim();
      if (!apiKey) throw new CLIError("stdin was empty: no key to store", { exit: 2 });
    }
    const route = await (await this.client()).addRoute({
      pattern: this.args.pattern,
      provider: f.provider as RouteEntry["provider"],
      model: f.model,
      base_url: f["base-url"],
      api_key_env: f["api-key-env"],
      api_key: apiKey,
      fallback: f.fallback,
      priority: f.priority,
      timeout_ms: f.timeout ? parseDuration("--timeout", f.timeout) : undefined,
      prefer_remote: f["prefer-remote"] || undefined,
      max_concurrency: f["max-concurrency"],
      requests_per_minute: f.rpm,
      replace: f.replace || undefined,
    });
    this.say(renderRoutes([route]));
    return route;
  }
}
