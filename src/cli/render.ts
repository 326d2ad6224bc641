/** Human rendering helpers: tables (cli-table3), sizes, durations, relative times. */
import Table from "cli-table3";

export interface Column<R> {
  header: string;
  get: (row: R) => string;
  align?: "left" | "right";
  /** The cell is mlxm's own text, styling included: printed as is rather than made printable(). */
  styled?: boolean;
}

/** Control characters (C0, DEL, C1) and the bidirectional overrides that reorder what a terminal shows. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` safe to print on a terminal: its control characters shown as escapes (`\x1b`, `\u202e`). Model names and
 * route patterns come from API callers; printed raw, an escape sequence in one could rewrite the screen, retitle the
 * window or forge lines of output.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A borderless table like `docker ps` / `ollama ls`, which reads well and greps well. Cells are printable() unless styled. */
export function renderTable<R>(rows: R[], columns: Column<R>[]): string {
  const table = new Table({
    head: columns.map((c) => c.header),
    colAligns: columns.map((c) => c.align ?? "left"),
    chars: {
      top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "",
      "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "   ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  for (const row of rows) table.push(columns.map((c) => (c.styled ? c.get(row) : printable(c.get(row)))));
  return table.toString().split("\n").map((l) => l.trimEnd()).join("\n");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = bytes;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

export function formatAgo(iso: string, now = Date.now()): string {
  const diff = now - new Date(iso).getTime();
  if (!Number.isFinite(diff)) return iso;
  if (diff < 60_000) return "just now";
  if (diff < 3_600_000) return ago(Math.floor(diff / 60_000), "minute");
  if (diff < 86_400_000) return ago(Math.floor(diff / 3_600_000), "hour");
  return ago(Math.floor(diff / 86_400_000), "day");
}

function ago(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
}
