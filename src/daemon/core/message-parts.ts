/**
 * Building and reading a core message's ordered `parts` (see `ChatMessage.parts` in chat.ts): what the translators
 * that make messages and the encoders and checks that read them share. Pure.
 */
import type { ChatMessage, ContentPart, MediaPart, MediaSource } from "./chat.js";

/** A message's `content` (the text parts joined with `separator`) and, only when there is media among them, `parts`. */
export function fromParts(parts: ContentPart[], separator = "\n"): Pick<ChatMessage, "content" | "parts"> {
  const content = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join(separator);
  return parts.some((p) => p.type !== "text") ? { content, parts } : { content };
}

/** A message's content in order: its parts, or its text as one part (none when it is empty). */
export function partsOf(m: ChatMessage): ContentPart[] {
  return m.parts ?? (m.content ? [{ type: "text", text: m.content }] : []);
}

/** The images and documents of a message, in order. */
export function mediaOf(m: ChatMessage): MediaPart[] {
  return (m.parts ?? []).filter((p): p is MediaPart => p.type !== "text");
}

/** Inline bytes as a `data:` URL (RFC 2397), the form OpenAI-protocol servers take them in. */
export function toDataUrl(source: Extract<MediaSource, { kind: "base64" }>): string {
  return `data:${source.mediaType};base64,${source.data}`;
}

/** How many bytes base64 text holds, without decoding it. */
export function base64Bytes(data: string): number {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}
