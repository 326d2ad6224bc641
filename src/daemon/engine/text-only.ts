/**
 * The local engine runs text-only models. A request with images or documents (which a routed vision model takes) is
 * refused here, where the backend is known, with a 400 each protocol serialises in its own shape (after the router
 * found no other backend of the name to take it: a route, or the route's fallback). It must be checked
 * before the prompt is built: the chat history reads only a message's text and would drop the media without a word.
 */
import type { ChatRequest } from "../core/chat.js";
import { mediaOf } from "../core/message-parts.js";
import { UnsupportedInputError } from "../errors.js";

export function refuseMedia(request: ChatRequest): void {
  for (const m of request.messages) {
    const media = mediaOf(m)[0];
    if (!media) continue;
    const what = media.type === "image" ? "images" : "documents";
    throw new UnsupportedInputError(`${what} are not supported: "${request.model}" is a local text-only model (route it to a vision model upstream to send ${what})`, request.messagesParam ?? "messages");
  }
}
