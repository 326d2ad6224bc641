/**
 * Images and documents as callers send them, into the core's media sources. Pure; shared by every protocol's
 * translator. A `data:` URL becomes bytes and a media type, an http(s) URL stays a URL the upstream fetches, and
 * bare base64 (Ollama's `images`) is typed by its first bytes, as Ollama itself sends no media type. Anything else is
 * a 400 naming `param`, in the caller's protocol, rather than an upstream's puzzled answer.
 */
import type { MediaSource } from "../core/chat.js";
import { badRequest } from "../errors.js";

type Bytes = Extract<MediaSource, { kind: "base64" }>;

/** A base64 `data:` URL's media type and bytes; any other `data:` URL is a 400. */
export function fromDataUrl(url: string, param: string): Bytes {
  const comma = url.indexOf(",");
  const [mediaType, ...flags] = url.slice("data:".length, comma < 0 ? undefined : comma).split(";");
  if (comma < 0 || !flags.some((f) => f.toLowerCase() === "base64")) throw badRequest("a data: URL must be base64-encoded (data:<media type>;base64,<data>)", param);
  if (!mediaType) throw badRequest("a data: URL must name its media type (data:<media type>;base64,<data>)", param);
  return { kind: "base64", mediaType: mediaType.toLowerCase(), data: url.slice(comma + 1) };
}

/** An image given by URL: a base64 `data:` URL of an image, or an http(s) URL. */
export function fromImageUrl(url: string, param: string): MediaSource {
  if (/^data:/i.test(url)) {
    const bytes = fromDataUrl(url, param);
    if (!bytes.mediaType.startsWith("image/")) throw badRequest(`an image's data: URL holds "${bytes.mediaType}", not an image`, param);
    return bytes;
  }
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw badRequest("an image URL must be an http(s) URL or a base64 data: URL", param);
  return { kind: "url", url };
}

/** Magic numbers of the image formats vision upstreams take (OpenAI's and Anthropic's four). */
const SIGNATURES: { mediaType: string; matches: (b: Buffer) => boolean }[] = [
  { mediaType: "image/png", matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mediaType: "image/jpeg", matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mediaType: "image/gif", matches: (b) => ["GIF87a", "GIF89a"].includes(b.toString("latin1", 0, 6)) },
  { mediaType: "image/webp", matches: (b) => b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP" },
];

/** The media type of base64 image bytes from their first bytes; undefined when they are none of the four formats. */
export function sniffImageType(data: string): string | undefined {
  // 16 base64 characters are the first 12 bytes, enough for every signature.
  const head = Buffer.from(data.slice(0, 16), "base64");
  return SIGNATURES.find((s) => s.matches(head))?.mediaType;
}

/** An image given as bare base64 (Ollama's `images`; a `data:` URL is taken too), typed by its first bytes. */
export function fromBase64Image(data: string, param: string): Bytes {
  if (/^data:/i.test(data)) return fromImageUrl(data, param) as Bytes;
  const mediaType = sniffImageType(data);
  if (!mediaType) throw badRequest("an image must be base64 PNG, JPEG, GIF or WebP data: these bytes are none of them", param);
  return { kind: "base64", mediaType, data };
}

/** A PDF given inline: a base64 `data:` URL of `application/pdf`. */
export function fromPdfDataUrl(url: string, param: string): Bytes {
  if (!/^data:/i.test(url)) throw badRequest("file data must be a base64 data: URL (data:application/pdf;base64,<data>)", param);
  const bytes = fromDataUrl(url, param);
  if (bytes.mediaType !== "application/pdf") throw badRequest(`only PDF files are supported here, not "${bytes.mediaType}"`, param);
  return bytes;
}
