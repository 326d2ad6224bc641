/** Parsers for the value kinds of `variables.ts`. Each throws ConfigError naming the variable. */

export class ConfigError extends Error {
  readonly code = "invalid_config";
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

/** `raw` as a boolean in any of the spellings the variables take (1/true/yes/on, 0/false/no/off), else undefined. */
export function booleanSpelling(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
}

export function parseBoolean(name: string, raw: string): boolean {
  const value = booleanSpelling(raw);
  if (value === undefined) throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return value;
}

export function parseInteger(name: string, raw: string, min = 0): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min) throw new ConfigError(`${name} must be at least ${min}, got ${n}`);
  return n;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** "8GiB", "512mb", "1073741824" → bytes. */
export function parseBytes(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`${name} must be a size like 8GiB or 512MB, got "${raw}"`);
  return Math.round(Number(m[1]) * unit);
}

/** The inverse of parseBytes for messages: "1.5 GiB", "640 MiB" (binary units, as the variables take them). */
export function formatBinaryBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Durations in milliseconds, with Ollama's keep_alive conventions: a bare number is seconds,
 * any negative value means "forever" (returned as -1).
 */
export function parseDuration(name: string, raw: string | number): number {
  if (typeof raw === "number") return raw < 0 ? -1 : boundDuration(name, Math.round(raw * 1000), raw);
  const s = raw.trim();
  if (/^-\d+(\.\d+)?[a-z]*$/i.test(s)) return -1;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  // Go-style compound durations such as "1h30m" or "2m30s".
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) {
    throw new ConfigError(`${name} must be a duration like 30s, 5m or 1h, got "${raw}"`);
  }
  return boundDuration(name, Math.round(total), raw);
}

/**
 * The longest duration accepted (100 years). Longer ones are refused rather than stored: added to a date they
 * leave the range `Date` can represent, and every later read that formats them would fail.
 */
export const MAX_DURATION_MS = 100 * 365 * 86_400_000;

function boundDuration(name: string, ms: number, raw: string | number): number {
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new ConfigError(`${name} must be at most 100 years (or negative for forever), got "${raw}"`);
  }
  return ms;
}

export interface HostAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:10242", "http://localhost:8080", "0.0.0.0", ":9000", "[::1]:8080". */
export function parseHost(name: string, raw: string, defaultPort: number): HostAddress {
  let s = raw.trim().replace(/^https?:\/\//, "").replace(/\/+$/, "");
  if (s === "") throw new ConfigError(`${name} must not be empty`);
  let host = s;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else if (s.includes(":") && s.indexOf(":") === s.lastIndexOf(":")) {
    const [h, p] = s.split(":");
    host = h || "127.0.0.1";
    if (!/^\d+$/.test(p!)) throw new ConfigError(`${name} has an invalid port in "${raw}"`);
    port = Number(p);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${name} has an invalid port in "${raw}"`);
  }
  return { host, port };
}

/**
 * A token or API key, cleaned as huggingface_hub cleans HF_TOKEN (line breaks removed, surrounding whitespace
 * trimmed: a key pasted from a file keeps its newline); empty is none. What is left must be printable ASCII without
 * spaces, as every token and key is: anything else cannot go in an HTTP header, and would fail each request it
 * goes with far from here. The value is never shown.
 */
export function parseCredential(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const cleaned = raw.replace(/[\r\n]/g, "").trim();
  if (cleaned === "") return undefined;
  if (!isPlainToken(cleaned)) {
    throw new ConfigError(`${name} is not a usable token: it has spaces, control characters or non-ASCII letters inside (value not shown)`);
  }
  return cleaned;
}

/** Printable ASCII without spaces, as every token and key is (and as an HTTP header carries as it is). */
export function isPlainToken(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}

export function parseUrl(name: string, raw: string): string {
  try {
    return new URL(raw).toString().replace(/\/+$/, "");
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${raw}"`);
  }
}
