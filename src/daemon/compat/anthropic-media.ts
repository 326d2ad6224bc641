/**
 * Anthropic `image` and `document` blocks (in a user turn or a `tool_result`) → core content parts. Pure. Images come
 * as base64 bytes or a URL; documents as base64 PDFs, the one form every upstream that reads documents takes (OpenAI's
 * `file` part). What only Anthropic itself could serve (the Files API, URL, text and content documents, citations)
 * is a 400 naming it: a request that reaches an Anthropic route in Anthropic's protocol is passed through untouched,
 * so these refusals only meet requests that must be translated.
 */
import { z } from "zod";
import type { ContentPart } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { fromImageUrl } from "./media.js";
import { parseAt } from "./parse.js";

const CacheControl = z.looseObject({ type: z.string() }).nullish();

const ImageBlock = z.looseObject({
  type: z.literal("image"),
  source: z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("base64"), media_type: z.enum(["image/jpeg", "image/png", "image/gif", "image/webp"]), data: z.string().min(1) }),
    z.looseObject({ type: z.literal("url"), url: z.string() }),
    z.looseObject({ type: z.literal("file"), file_id: z.string() }),
  ]),
  cache_control: CacheControl,
  transformations: z.unknown().optional(),
});

const DocumentBlock = z.looseObject({
  type: z.literal("document"),
  source: z.looseObject({ type: z.string(), media_type: z.string().optional(), data: z.unknown().optional() }),
  title: z.string().nullish(),
  context: z.string().nullish(),
  citations: z.looseObject({ enabled: z.boolean().nullish() }).nullish(),
  cache_control: CacheControl,
});

/** An `image` block at `at` (`messages[0].content[1]`) as a core image part. */
export function fromImageBlock(block: unknown, at: string): ContentPart {
  const b = parseAt(ImageBlock, block, at);
  if (b.transformations !== undefined && b.transformations !== null) throw badRequest("image transformations are not supported here", `${at}.transformations`);
  const source = b.source;
  if (source.type === "file") {
    throw badRequest("images from the Files API (source type \"file\") are not supported here: send the image's bytes (base64) or a URL", `${at}.source.type`);
  }
  if (source.type === "url") return { type: "image", source: fromImageUrl(source.url, `${at}.source.url`) };
  return { type: "image", source: { kind: "base64", mediaType: source.media_type, data: source.data } };
}

/** A `document` block at `at` as a core document part: a base64 PDF, its title as the file name. */
export function fromDocumentBlock(block: unknown, at: string): ContentPart {
  const b = parseAt(DocumentBlock, block, at);
  if (b.citations?.enabled === true) throw badRequest("citations are not supported", `${at}.citations`);
  if (b.context) throw badRequest("a document's context is not supported here", `${at}.context`);
  const { type, media_type, data } = b.source;
  if (type !== "base64" || media_type !== "application/pdf") {
    throw badRequest(`documents with a "${type}" source are not supported here: send a PDF's bytes (source type "base64", media_type "application/pdf")`, `${at}.source`);
  }
  if (typeof data !== "string" || !data) throw badRequest("a base64 document needs its `data`", `${at}.source.data`);
  return { type: "document", source: { kind: "base64", mediaType: "application/pdf", data }, ...(b.title ? { name: b.title } : {}) };
}
