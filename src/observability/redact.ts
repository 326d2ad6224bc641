/**
 * Secrets never reach a span, a log line or the span store. This is the one list of what counts as secret,
 * applied to span attributes (by a processor that runs before any exporter) and to the CLI's flag attributes.
 */

const SECRET_KEY = /(authorization|api[-_.]?key|x-api-key|token|secret|password|passwd|cookie|credential|private[-_.]?key)/i;
/** Values that look like credentials whatever key they sit under. */
const SECRET_VALUE = /\b(Bearer\s+[A-Za-z0-9._~+/=-]{8,}|sk-[A-Za-z0-9_-]{12,}|sk-ant-[A-Za-z0-9_-]{12,}|hf_[A-Za-z0-9]{12,}|mlxm-[A-Za-z0-9_-]{16,})/g;
/** Attributes holding prompt or completion text: kept only when MLXM_TRACE_CONTENT is on. */
const CONTENT_KEY = /^(gen_ai\.(prompt|completion|input\.messages|output\.messages|system_instructions|tool\.call\.(arguments|result))|mlxm\.(prompt|completion))/;

export const REDACTED = "[redacted]";

export function isSecretKey(key: string): boolean {
  // Token *counts* are not secrets.
  if (/tokens?$/.test(key) && /(usage|count|max|input|output)/.test(key)) return false;
  return SECRET_KEY.test(key);
}

export function isContentKey(key: string): boolean {
  return CONTENT_KEY.test(key);
}

/** Replace credential-looking substrings (and URL query secrets) inside a free-text value. */
export function scrubText(value: string): string {
  return value
    .replace(SECRET_VALUE, REDACTED)
    .replace(/([?&](?:key|api[-_]?key|token|access_token|sig|signature)=)[^&#\s]+/gi, `$1${REDACTED}`);
}

export type AttributeValue = string | number | boolean | Array<string | number | boolean | null | undefined> | undefined;

/**
 * The redacted form of one attribute: `undefined` means drop it (content when not opted in), otherwise the value
 * to keep, masked where it is or contains a secret.
 */
export function redactAttribute(key: string, value: AttributeValue, recordContent: boolean): AttributeValue {
  if (isContentKey(key) && !recordContent) return undefined;
  if (isSecretKey(key)) return REDACTED;
  if (typeof value === "string") return scrubText(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? scrubText(v) : v));
  return value;
}

export function redactAttributes(attrs: Record<string, AttributeValue>, recordContent: boolean): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    const r = redactAttribute(k, v, recordContent);
    if (r !== undefined) out[k] = r;
  }
  return out;
}
