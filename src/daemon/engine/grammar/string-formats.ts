/**
 * JSON Schema `format`s as GBNF for a string's content (pure), each admitting only strings ajv-formats' full mode
 * accepts. Some are narrower than the format, and narrower is still valid: `date` never writes 29 February (the
 * grammar cannot know leap years), `date-time` ends in `Z`, `time` carries a zone (`Z` or `±hh:mm`) as RFC 3339
 * requires, `uuid` is lower-case with a version and variant, `email` writes lower-case letters, digits, `_ + -`,
 * bounded labels and a top-level domain of letters, `uri` is `scheme://host[:port]` with an optional path, query and
 * fragment of RFC 3986's unreserved and sub-delimiter characters or %-escapes (no userinfo, IP literals or empty host;
 * what tools such as Claude Code's WebFetch declare with zod's `url()`). These narrower forms also match the `pattern` zod 4 writes
 * next to the same `format`, so those pairs ({@link FORMAT_PATTERNS}) are enforced; any other pattern with a
 * format is refused.
 */

const DIGIT = "[0-9]";
const HEX = "[0-9a-f]";
const DAY_28 = `("0" [1-9] | "1" ${DIGIT} | "2" [0-8])`;
const DAY_30 = `(${DAY_28} | "29" | "30")`;
const DATE = `${DIGIT}{4} "-" (("01" | "03" | "05" | "07" | "08" | "10" | "12") "-" (${DAY_30} | "31") | ("04" | "06" | "09" | "11") "-" ${DAY_30} | "02" "-" ${DAY_28})`;
const HOUR = `([01] ${DIGIT} | "2" [0-3])`;
const MINUTE = `[0-5] ${DIGIT}`;
const CLOCK = `${HOUR} ":" ${MINUTE} ":" ${MINUTE} ("." ${DIGIT}{1,6})?`;
const TIME = `${CLOCK} ("Z" | [+\\x2d] ${HOUR} ":" ${MINUTE})`;
const OCTET = `("25" [0-5] | "2" [0-4] ${DIGIT} | "1" ${DIGIT} ${DIGIT} | [1-9]? ${DIGIT})`;
const LABEL = `[a-z0-9] ([a-z0-9\\x2d]{0,30} [a-z0-9])?`;
const LOCAL = `[a-z0-9_+\\x2d]{1,32}`;
const HOST_LABEL = `[a-zA-Z0-9] ([a-zA-Z0-9\\x2d]{0,30} [a-zA-Z0-9])?`;
/** RFC 3986 pchar: unreserved, sub-delims, ":" and "@", or a %-escape (never a quote or backslash: no JSON escaping). */
const PCHAR = `([a-zA-Z0-9._~!$&'()*+,;=:@\\x2d] | "%" [0-9a-fA-F] [0-9a-fA-F])`;
const URI = `[a-z] [a-z0-9+.\\x2d]{0,15} "://" ${HOST_LABEL} ("." ${HOST_LABEL})* (":" ${DIGIT}{1,5})? ("/" ${PCHAR}*)* ("?" (${PCHAR} | [/?])*)? ("#" (${PCHAR} | [/?])*)?`;

/** Content grammar per supported format. */
export const STRING_FORMATS: Readonly<Record<string, string>> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE} "T" ${CLOCK} "Z"`,
  uuid: `${HEX}{8} "-" ${HEX}{4} "-" [1-8] ${HEX}{3} "-" [89ab] ${HEX}{3} "-" ${HEX}{12}`,
  email: `${LOCAL} ("." ${LOCAL})* "@" (${LABEL} ".")+ [a-z]{2,10}`,
  ipv4: `${OCTET} "." ${OCTET} "." ${OCTET} "." ${OCTET}`,
  uri: URI,
};

/** The patterns zod 4's `z.toJSONSchema` writes beside a format; the grammars above satisfy both (tested). */
export const FORMAT_PATTERNS: Readonly<Record<string, readonly string[]>> = {
  date: [
    "^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))$",
  ],
  "date-time": [
    "^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))T(?:(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:Z))$",
  ],
  email: ["^(?:[A-Za-z0-9_'+\\-]+\\.)*[A-Za-z0-9_'+\\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$"],
  uuid: [
    "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$",
    "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
  ],
  ipv4: ["^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$"],
};
