/**
 * Drawing traces for `mlxm trace`: one line per trace for the list, and an indented waterfall for one trace
 * (span name, service, offset, a duration bar, key attributes; errors in red on a terminal).
 */
import type { SpanRecord, TraceSummary } from "../protocol/traces.js";
import { formatDuration, printable, renderTable } from "./render.js";

const RED = "\x1b[31m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** Attributes worth a glance in the waterfall, in this order. */
const KEY_ATTRIBUTES = [
  "http.route",
  "http.response.status_code",
  "mlxm.request_id",
  "gen_ai.request.model",
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "gen_ai.response.finish_reasons",
  "gen_ai.server.time_to_first_token_ms",
  "db.query.text",
  "url.full",
  "process.exit.code",
  "error.type",
];

export function renderTraceList(traces: TraceSummary[], color: boolean): string {
  return renderTable(traces, [
    { header: "STARTED", get: (t) => new Date(t.start_time).toLocaleString() },
    { header: "TRACE", get: (t) => t.trace_id.slice(0, 12) },
    { header: "NAME", get: (t) => t.name },
    { header: "MODEL", get: (t) => t.model ?? "-" },
    { header: "STATUS", get: (t) => (t.status === "error" ? paint(`error(${t.error_count})`, RED, color) : "ok"), styled: true },
    { header: "DURATION", get: (t) => formatDuration(t.duration_ms), align: "right" },
    { header: "TOKENS", get: (t) => (t.input_tokens || t.output_tokens ? `${t.input_tokens}→${t.output_tokens}` : "-"), align: "right" },
    { header: "SPANS", get: (t) => String(t.span_count), align: "right" },
  ]);
}

export function renderWaterfall(spans: SpanRecord[], options: { color: boolean; width?: number }): string {
  if (spans.length === 0) return "";
  const start = Math.min(...spans.map((s) => s.start_ms));
  const end = Math.max(...spans.map((s) => s.start_ms + s.duration_ms));
  const total = Math.max(end - start, 0.001);
  const barWidth = Math.max(10, Math.min(40, (options.width ?? 120) - 80));

  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string | null, SpanRecord[]>();
  for (const s of spans) {
    // A span whose parent we never received is drawn as a root.
    const parent = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : null;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  for (const list of children.values()) list.sort((a, b) => a.start_ms - b.start_ms);

  const lines: string[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      const offset = s.start_ms - start;
      const from = Math.floor((offset / total) * barWidth);
      const len = Math.max(1, Math.round((s.duration_ms / total) * barWidth));
      const bar = " ".repeat(from) + "█".repeat(Math.min(len, barWidth - from)) + " ".repeat(Math.max(0, barWidth - from - len));
      const name = `${"  ".repeat(depth)}${printable(s.name)}`;
      const failed = s.status_code === 2;
      const attrs = KEY_ATTRIBUTES.filter((k) => s.attributes[k] !== undefined)
        .map((k) => `${k}=${truncate(printable(String(s.attributes[k])), 60)}`)
        .join(" ");
      let line = `${pad(name, 44)} ${pad(s.service, 12)} +${pad(formatDuration(offset), 8)} ${bar} ${pad(formatDuration(s.duration_ms), 8)}`;
      if (failed) line += ` ${paint(`✗ ${printable(s.status_message ?? "error")}`, RED, options.color)}`;
      lines.push(failed ? paint(line, RED, options.color) : line);
      if (attrs) lines.push(paint(`${"  ".repeat(depth + 1)}${attrs}`, DIM, options.color));
      walk(s.span_id, depth + 1);
    }
  };
  walk(null, 0);
  return lines.join("\n");
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s + " ".repeat(n - s.length);
}

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

function paint(s: string, code: string, color: boolean): string {
  return color ? `${code}${s}${RESET}` : s;
}
