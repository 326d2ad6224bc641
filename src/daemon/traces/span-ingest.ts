/**
 * Spans that reach the daemon from outside its SDK: the CLI's command spans (POSTed, or left in the spool file
 * when no daemon answered). They are redacted again here (the daemon does not trust its callers to have done it),
 * written to the local span store and forwarded to the same remote exporters as the daemon's own spans, with
 * their own ids, times and resource, so a backend sees each command as one trace with its root.
 */
import { takeSpool } from "../../home/spool.js";
import { daemonObservability } from "../../observability/daemon-setup.js";
import { redactAttributes } from "../../observability/redact.js";
import { SpanRecord } from "../../protocol/traces.js";
import type { Logger } from "../../observability/logger.js";
import type { SpansRepo } from "../store/repos/spans-repo.js";
import { TraceFeed } from "./trace-feed.js";

export class SpanIngest {
  /** Finished traces, pushed to `mlxm trace --follow`. */
  readonly feed = new TraceFeed();

  constructor(
    private readonly spans: SpansRepo,
    private readonly recordContent: boolean,
    private readonly logger: Logger,
  ) {}

  async ingest(records: SpanRecord[]): Promise<void> {
    const clean = records.map((r) => ({ ...r, attributes: redactAttributes(r.attributes, this.recordContent) as SpanRecord["attributes"] }));
    const observability = daemonObservability();
    // Through the exporter when there is one, so the write itself is not traced.
    if (observability) await observability.localExporter.write(clean);
    else {
      await this.spans.insert(clean);
      this.feed.publish(clean);
    }
    observability?.forward(clean);
  }

  /** Take in the spans CLI commands spooled while no daemon answered; the spool is removed once stored. */
  async ingestSpool(home: string): Promise<number> {
    const taken = await takeSpool(home, async (lines) => {
      const records: SpanRecord[] = [];
      for (const line of lines) {
        try {
          records.push(SpanRecord.parse(JSON.parse(line)));
        } catch {
          this.logger.debug("skipping a malformed spooled span");
        }
      }
      await this.ingest(records);
      return records.length;
    });
    return taken ?? 0;
  }
}
