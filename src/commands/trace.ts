import { Args, Flags } from "@oclif/core";
import { BaseCommand } from "../cli/base-command.js";
import { NotFoundError } from "../client/errors.js";
import type { MlxmClient } from "../client/mlxm-client.js";
import { renderTraceList, renderWaterfall } from "../cli/trace-view.js";
import { parseSince } from "../cli/time-args.js";
import type { TraceListResponse, TraceResponse } from "../protocol/traces.js";

export default class Trace extends BaseCommand<typeof Trace> {
  static override summary = "Show recent traces, or one trace as a waterfall.";
  static override description =
    "Every mlxm command and the daemon requests it causes form one trace, kept in the local span store. Without an id, lists recent traces one per line; with an id (or --last), draws that trace.";
  static override examples = [
    "<%= config.bin %> trace",
    "<%= config.bin %> trace --last",
    "<%= config.bin %> trace 4bf92f35 --json",
    "<%= config.bin %> trace --errors --since 1h",
    "<%= config.bin %> trace --follow",
  ];
  static override args = {
    id: Args.string({ description: "Trace id, or a unique prefix of at least 8 characters." }),
  };
  static override flags = {
    last: Flags.boolean({ description: "Show the newest trace (with --errors or --since: the newest of those)." }),
    errors: Flags.boolean({ description: "Only traces with an error." }),
    since: Flags.string({ description: "Only traces that started since then: a duration (15m, 2h, 7d) or a time." }),
    limit: Flags.integer({ description: "How many traces to list.", default: 20, min: 1, max: 1000 }),
    follow: Flags.boolean({ char: "f", description: "Keep printing new traces as they finish (Ctrl-C stops)." }),
  };

  async run(): Promise<TraceListResponse | TraceResponse | undefined> {
    if (this.args.id && this.flags.last) this.error("give a trace id or --last, not both", { exit: 2 });
    if (this.args.id && (this.flags.errors || this.flags.since)) this.error("--errors and --since choose among traces: not with an id", { exit: 2 });
    const since = this.flags.since ? parseSince(this.flags.since) : undefined;
    const client = await this.client();
    const color = Boolean(process.stdout.isTTY);
    if (this.args.id || this.flags.last) {
      const id = this.args.id ?? (this.flags.errors || since ? await this.newest(client, since) : "last");
      const trace = await client.trace(id);
      this.say(`trace ${trace.trace_id}  ${trace.summary.name}  ${trace.summary.status}\n`);
      this.say(renderWaterfall(trace.spans, { color, width: process.stdout.columns }));
      return trace;
    }
    const list = await client.traces({ limit: this.flags.limit, since, errors: this.flags.errors });
    if (!this.flags.follow) {
      const filtered = this.flags.errors || since;
      this.say(list.traces.length ? renderTraceList(list.traces, color) : filtered ? "no traces match" : "no traces recorded yet");
      return list;
    }
    await this.follow(list, color);
    // Everything went out as NDJSON lines: no closing document after them.
    return undefined;
  }

  /** The newest trace that --errors and --since allow; a not-found error when there is none. */
  private async newest(client: MlxmClient, since: string | undefined): Promise<string> {
    const [newest] = (await client.traces({ limit: 1, since, errors: this.flags.errors })).traces;
    if (!newest) throw new NotFoundError("no trace matches --errors/--since", 404, "not_found");
    return newest.trace_id;
  }

  /** Print traces as the daemon pushes them; with --json one JSON line per trace. Ends when the daemon stops. */
  private async follow(initial: TraceListResponse, color: boolean): Promise<void> {
    const client = await this.client();
    const emit = (traces: TraceListResponse["traces"]) => {
      if (traces.length === 0) return;
      if (this.jsonEnabled()) for (const t of traces) process.stdout.write(`${JSON.stringify(t)}\n`);
      else this.log(renderTraceList(traces, color));
    };
    emit([...initial.traces].reverse());
    for await (const trace of client.followTraces({ errors: this.flags.errors })) emit([trace]);
  }
}
