/**
 * Secrets never reach a span, a log line or the span store. This is the one list of what counts as secret,
 * applied to span attributes (by a processor that runs before any exporter) and to the CLI's flag attributes.
 */
import { URL_CREDENTIALS } from "../protocol/routes.js";

/** Values that look like credentials whatever key they sit under. */
const SECRET_VALUE =
  /\b(Bearer\s+[A-Za-z0-9._~+/=-]{8,}|sk-[A-Za-z0-9_-]{12,}|sk-ant-[A-Za-z0-9_-]{12,}|hf_[A-Za-z0-9]{12,}|mlxm-[A-Za-z0-9_-]{16,}|pylf_v\d_[A-Za-z0-9_]{12,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)/g;
/**
 * Attributes holding prompt or completion text: kept only when MLXM_TRACE_CONTENT is on. A CLI command's `--system`
 * flag (`mlxm run`, `mlxm create`) is a system prompt.
 */
const CONTENT_KEY = /^(gen_ai\.(prompt|completion|input\.messages|output\.messages|system_instructions|tool\.call\.(arguments|result))|mlxm\.(prompt|completion|flag\.system)$)/;

export const REDACTED = "[redacted]";

/** Words that make any name secret, wherever they appear in it. */
const SECRET_WORDS = new Set(["authorization", "cookie", "cookies", "password", "passwd", "passphrase", "secret", "secrets", "credential", "credentials", "apikey"]);
/** Words before a final `key` that make it a credential (`api_key`, `x-goog-api-key`, `private_key`). */
const KEY_QUALIFIERS = new Set(["api", "private", "secret", "access", "auth", "signing", "encryption", "master", "client", "session", "license"]);
/**
 * Words that make a name a measurement rather than a credential: a name ending in `token` is a secret
 * (`HF_TOKEN`, `access_token`, `mlxm.flag.token`) unless it measures tokens (`time_to_first_token`).
 */
const MEASURE_WORDS = new Set(["time", "first", "last", "per", "count", "usage", "max", "min", "num", "total", "input", "output", "prompt", "completion", "cached", "reasoning", "rate", "budget", "limit", "length"]);

/** The words of an attribute name: split at any separator and at camelCase humps, lower-cased. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * Whether an attribute (or flag, or header) name holds a credential. Exact by words, not substrings: token
 * *counts* and timings (`gen_ai.usage.input_tokens`, `…time_to_first_token_ms`, `llm.token_count.prompt`) are
 * measurements and pass; `HF_TOKEN`, `x-api-key`, `apiKey`, `refresh_token` are masked.
 */
export function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = classifyKey(key);
    if (secretKeys.size < MAX_REMEMBERED_KEYS) secretKeys.set(key, secret);
  }
  return secret;
}

/**
 * Every attribute of every span is checked, and spans reuse a few dozen names: each name is split into words once.
 * Bounded, in case names are built from data.
 */
const secretKeys = new Map<string, boolean>();
const MAX_REMEMBERED_KEYS = 4096;

function classifyKey(key: string): boolean {
  const w = words(key);
  if (w.some((x) => SECRET_WORDS.has(x))) return true;
  const last = w[w.length - 1];
  if (last === "key") return w.length === 1 || KEY_QUALIFIERS.has(w[w.length - 2]!);
  if (last === "token") return !w.some((x) => MEASURE_WORDS.has(x));
  return false;
}

export function isContentKey(key: string): boolean {
  return CONTENT_KEY.test(key);
}

/**
 * A key as a vendor echoes it masked, when the key itself is not known here: a prefix that looks like a key's
 * (letters, then `-` or `_`), a run of `*` (with any `.` or `…`), a visible tail. OpenAI's "Incorrect API key
 * provided: sk-abc1***…***wxyz" and "sk-proj-****…****wxyz". The `-`/`_` keeps markdown's `***bold***` out.
 */
const MASKED_KEY = /\b[A-Za-z]{1,10}[-_][A-Za-z0-9_-]*[.…]*\*{3,}[*.…]*[A-Za-z0-9_-]*/g;

/** Replace credential-looking substrings (masked keys and URL query secrets included) inside a free-text value. */
export function scrubText(value: string): string {
  return scrubQuery(value.replace(SECRET_VALUE, REDACTED).replace(MASKED_KEY, REDACTED));
}

/** Any masked token: its visible head and tail, around a run of `*`. */
const MASKED_TOKEN = /([A-Za-z0-9_-]*)[.…]*\*{3,}[*.…]*([A-Za-z0-9_-]*)/g;
/** The shortest prefix of a key that counts as an echo of it: shorter ones are shared by every key of a vendor. */
const MIN_ECHOED_PREFIX = 8;

/**
 * `text` (an upstream's error) without `secret` or what gives part of it away: the whole key, a masked form whose
 * visible head is a prefix of it or whose tail ends it (however the vendor masks), and any prefix of at least eight
 * characters (an upstream that truncates instead of masking). The whole key alone was not enough: OpenAI answers a
 * wrong key with "Incorrect API key provided: sk-abc1***…wxyz".
 */
export function scrubSecret(text: string, secret: string): string {
  const whole = text.split(secret).join(REDACTED);
  const masked = whole.replace(MASKED_TOKEN, (token, head: string, tail: string) =>
    (head.length >= 2 && secret.startsWith(head)) || (tail.length >= 2 && secret.endsWith(tail)) ? REDACTED : token,
  );
  return secret.length >= MIN_ECHOED_PREFIX ? withoutPrefixes(masked, secret) : masked;
}

/** Every run of `secret`'s own first characters (at least MIN_ECHOED_PREFIX of them) replaced. */
function withoutPrefixes(text: string, secret: string): string {
  const seed = secret.slice(0, MIN_ECHOED_PREFIX);
  let out = "";
  let from = 0;
  for (let at = text.indexOf(seed); at !== -1; at = text.indexOf(seed, from)) {
    let end = at + seed.length;
    while (end < text.length && end - at < secret.length && text[end] === secret[end - at]) end++;
    out += text.slice(from, at) + REDACTED;
    from = end;
  }
  return out + text.slice(from);
}

/** `name=value` pairs of a query: at the start of the text (a span's `url.query`) or after `?` or `&` (a URL). */
const QUERY_PAIR = /(^|[?&])([^=&#\s?]+)=([^&#\s]+)/g;
/** Names that hold a credential in a query without saying so in isSecretKey's words: signed URLs, auth codes. */
const SECRET_PARAMS = new Set(["sig", "signature", "x-amz-signature", "x-goog-signature", "auth", "code", "jwt"]);

/** The values of a query's secret parameters (`api_key`, `token`, `sig`, `password`...) masked, the rest kept. */
export function scrubQuery(text: string): string {
  return text.replace(QUERY_PAIR, (pair, lead: string, name: string) =>
    isSecretKey(name) || SECRET_PARAMS.has(name.toLowerCase()) ? `${lead}${name}=${REDACTED}` : pair,
  );
}

/**
 * A URL as it may be shown (logs, `/api/health`, route lists): credentials in it masked, as `user:password@` or as
 * secret query parameters. Only for display: the URL itself still carries them where it is used.
 */
export function displayUrl(url: string): string {
  return scrubQuery(url.replace(URL_CREDENTIALS, "$1***@"));
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
