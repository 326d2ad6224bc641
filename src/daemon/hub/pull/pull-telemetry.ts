/**
 * A span and metrics for each finished pull. The pull runs in the async context of the request that started it,
 * so the span lands in that request's trace; it is recorded once the pull ends, with its real start time.
 */
import { SpanStatusCode } from "@opentelemetry/api";
import type { Metrics } from "../../../observability/metrics.js";
import { recordError, tracer } from "../../../observability/spans.js";
import type { PullSummary } from "./pull-manager.js";

export function recordPull(summary: PullSummary, metrics: Metrics): void {
  const s = summary.stats;
  metrics.pullBytes.inc(s.bytesDownloaded);
  const end = Date.now();
  const span = tracer().startSpan(`pull ${summary.name ?? summary.ref}`, {
    startTime: end - s.durationMs,
    attributes: {
      "mlxm.pull.ref": summary.ref,
      "mlxm.pull.status": summary.status,
      "mlxm.pull.files": s.files,
      "mlxm.pull.total_bytes": s.totalBytes,
      "mlxm.pull.bytes_downloaded": s.bytesDownloaded,
      "mlxm.pull.resumed_from_bytes": s.resumedFrom,
      "mlxm.pull.reused_bytes": s.reusedBytes,
      "mlxm.pull.retries": s.retries,
      "mlxm.pull.stalls": s.stalls,
      "mlxm.pull.download_ms": s.downloadMs,
      "mlxm.pull.verify_ms": s.verifyMs,
      ...(summary.repo ? { "mlxm.pull.repo": summary.repo } : {}),
      ...(summary.commit ? { "mlxm.pull.commit": summary.commit } : {}),
      ...(summary.quant ? { "mlxm.pull.quant": summary.quant } : {}),
    },
  });
  if (summary.status === "failed" && summary.error) recordError(span, summary.error);
  else span.setStatus({ code: summary.status === "completed" ? SpanStatusCode.OK : SpanStatusCode.UNSET });
  span.end(end);
}
