/**
 * OpenAI's image and file content parts → core content parts. Pure. Chat Completions sends `image_url` and `file`
 * parts, the Responses API `input_image` and `input_file`; both give an image as an http(s) or `data:` URL and a PDF
 * as a `data:` URL. What only OpenAI's own storage could serve (`file_id`, a file by URL) is a 400 naming it: mlxm
 * keeps no files.
 */
import { z } from "zod";
import type { ContentPart } from "../core/chat.js";
import { badRequest } from "../errors.js";
import { fromImageUrl, fromPdfDataUrl } from "./media.js";
import { parseAt } from "./parse.js";

const Detail = z.enum(["auto", "low", "high", "original"]).nullish();

const ChatImagePart = z.looseObject({ type: z.literal("image_url"), image_url: z.looseObject({ url: z.string().min(1), detail: Detail }) });
const ChatFilePart = z.looseObject({
  type: z.literal("file"),
  file: z.looseObject({ file_data: z.string().nullish(), file_id: z.string().nullish(), filename: z.string().nullish() }),
});
const InputImage = z.looseObject({ type: z.literal("input_image"), image_url: z.string().nullish(), file_id: z.string().nullish(), detail: Detail });
const InputFile = z.looseObject({
  type: z.literal("input_file"),
  file_data: z.string().nullish(),
  file_id: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
});

const NO_FILE_IDS = "is not supported: mlxm keeps no uploaded files; send the bytes as a base64 data: URL";

/** Chat Completions has no "original"; its most detailed look is "high". */
const detailOf = (detail: z.output<typeof Detail>) => (detail ? { detail: detail === "original" ? "high" : detail } : {});

/** A Chat Completions `image_url` part at `at` (`messages[0].content[1]`). */
export function fromChatImagePart(part: unknown, at: string): ContentPart {
  const { image_url } = parseAt(ChatImagePart, part, at);
  return { type: "image", source: fromImageUrl(image_url.url, `${at}.image_url.url`), ...detailOf(image_url.detail) };
}

/** A Chat Completions `file` part: a PDF given as `file_data`. */
export function fromChatFilePart(part: unknown, at: string): ContentPart {
  const { file } = parseAt(ChatFilePart, part, at);
  if (!file.file_data) throw badRequest(file.file_id ? `file_id ${NO_FILE_IDS}` : "a file part needs file_data", `${at}.file.${file.file_id ? "file_id" : "file_data"}`);
  return { type: "document", source: fromPdfDataUrl(file.file_data, `${at}.file.file_data`), ...(file.filename ? { name: file.filename } : {}) };
}

/** A Responses `input_image` part: `image_url` (an http(s) or data: URL). */
export function fromInputImage(part: unknown, at: string): ContentPart {
  const p = parseAt(InputImage, part, at);
  if (!p.image_url) throw badRequest(p.file_id ? `file_id ${NO_FILE_IDS}` : "an input_image part needs image_url", `${at}.${p.file_id ? "file_id" : "image_url"}`);
  return { type: "image", source: fromImageUrl(p.image_url, `${at}.image_url`), ...detailOf(p.detail) };
}

/** A Responses `input_file` part: a PDF given as `file_data`. */
export function fromInputFile(part: unknown, at: string): ContentPart {
  const p = parseAt(InputFile, part, at);
  if (p.file_id) throw badRequest(`file_id ${NO_FILE_IDS}`, `${at}.file_id`);
  if (p.file_url) throw badRequest("file_url is not supported: send the file's bytes as a base64 data: URL in file_data", `${at}.file_url`);
  if (!p.file_data) throw badRequest("an input_file part needs file_data", `${at}.file_data`);
  return { type: "document", source: fromPdfDataUrl(p.file_data, `${at}.file_data`), ...(p.filename ? { name: p.filename } : {}) };
}
