/** `--since` values: a duration back from now (90s, 15m, 2h, 7d) or an absolute time. Returns ISO-8601. */
import { CLIError } from "@oclif/core/errors";
import { parseDuration } from "../config/parse.js";

export function parseSince(value: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value) || /^(\d+(ms|s|m|h|d))+$/.test(value)) {
    return new Date(now - parseDuration("--since", value)).toISOString();
  }
  // Only ISO-8601 dates and times: Date.parse alone reads "0" as the year 2000 and "99999-01-01" as year 99999.
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) throw new CLIError(`--since must be a duration like 15m or an ISO-8601 time like 2026-11-30T09:00, got "${value}"`, { exit: 2 });
  return new Date(t).toISOString();
}
