/** How `mlxm daemon status` shows the remote trace exporters: one line each, then its last error if any. */
import type { ExporterState } from "../protocol/native.js";

export function renderExporters(exporters: ExporterState[]): string[] {
  if (exporters.length === 0) return ["  traces   local only (no LOGFIRE_TOKEN or OTEL_EXPORTER_OTLP_ENDPOINT)"];
  const lines: string[] = [];
  for (const e of exporters) {
    const healthy = e.last_error === null || (e.last_success !== null && e.last_success > (e.last_error_at ?? ""));
    const state = e.exported === 0 && e.last_error === null ? "idle" : healthy ? "ok" : "failing";
    lines.push(
      `  ${e.name.padEnd(8)} ${state}  ${e.endpoint}  sent ${e.exported}, dropped ${e.dropped}, queued ${e.queued}` +
        (e.last_success ? `, last success ${e.last_success}` : ""),
    );
    if (e.last_error && !healthy) lines.push(`           last error ${e.last_error_at}: ${e.last_error}`);
  }
  return lines;
}
