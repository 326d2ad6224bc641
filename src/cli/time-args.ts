/** `--since` values: a duration back from now (90s, 15m, 2h, 7d) or an absolute time. Returns ISO-8601. */
import { CLIError } from "@oclif/core/errors";
import { parseDuration } from "../config/parse.js";

export function parseSince(value: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value) || /^(\d+(ms|s|m|h|d))+$/.test(value)) {
    return new Date(now - parseDuration("--since", value)).toISOString();
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CLIError(`--since must be a duration like 15m or a time, got "${value}"`, { exit: 2 });
  return new Date(t).toISOString();
}
