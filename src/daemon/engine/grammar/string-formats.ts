/**
 * JSON Schema `format`s as GBNF for a string's content (pure), each admitting only strings ajv-formats' full mode
 * accepts. Some are narrower than the format: `date` never writes 29 February (the grammar cannot know leap
 * years), `time` and `date-time` always carry a zone (`Z` or `±hh:mm`) as RFC 3339 requires, `email` writes
 * lower-case letters, digits, `_ + -` and bounded labels. Narrower is still valid.
 */

const DIGIT = "[0-9]";
const HEX = "[0-9a-f]";
const DAY_28 = `("0" [1-9] | "1" ${DIGIT} | "2" [0-8])`;
const DAY_30 = `(${DAY_28} | "29" | "30")`;
const DATE = `${DIGIT}{4} "-" (("01" | "03" | "05" | "07" | "08" | "10" | "12") "-" (${DAY_30} | "31") | ("04" | "06" | "09" | "11") "-" ${DAY_30} | "02" "-" ${DAY_28})`;
const HOUR = `([01] ${DIGIT} | "2" [0-3])`;
const MINUTE = `[0-5] ${DIGIT}`;
const TIME = `${HOUR} ":" ${MINUTE} ":" ${MINUTE} ("." ${DIGIT}{1,6})? ("Z" | [+\\x2d] ${HOUR} ":" ${MINUTE})`;
const OCTET = `("25" [0-5] | "2" [0-4] ${DIGIT} | "1" ${DIGIT} ${DIGIT} | [1-9]? ${DIGIT})`;
const LABEL = `[a-z0-9] ([a-z0-9\\x2d]{0,30} [a-z0-9])?`;
const LOCAL = `[a-z0-9_+\\x2d]{1,32}`;

/** Content grammar per supported format. */
export const STRING_FORMATS: Readonly<Record<string, string>> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE} "T" ${TIME}`,
  uuid: `${HEX}{8} "-" ${HEX}{4} "-" ${HEX}{4} "-" ${HEX}{4} "-" ${HEX}{12}`,
  email: `${LOCAL} ("." ${LOCAL})* "@" ${LABEL} ("." ${LABEL})+`,
  ipv4: `${OCTET} "." ${OCTET} "." ${OCTET} "." ${OCTET}`,
};
