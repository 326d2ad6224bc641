/**
 * The Responses API's `input` → core chat messages. Pure (no I/O); the rest of the request is `openai-responses.ts`.
 * Input items are what a client holds of its conversation: messages, the function calls earlier responses made and
 * their outputs. mlxm stores nothing, so everything the model should see must be in them; what only a stored
 * conversation or a hosted tool could give (item references, uploaded files, built-in tool calls) is a 400 naming it.
 * Images and PDFs given inline or by URL (`input_image`, `input_file`) become core content parts.
 */
import { z } from "zod";
import type { ChatMessage, ContentPart } from "../core/chat.js";
import { fromParts } from "../core/message-parts.js";
import { badRequest } from "../errors.js";
import { fromInputFile, fromInputImage } from "./openai-media.js";
import { parseAt } from "./parse.js";

const Part = z.looseObject({ type: z.string() });
const Content = z.union([z.string(), z.array(Part)]);

// Items are loose objects: clients send back the output items they were given (with `id`, `status`, `phase`, …).
const MessageItem = z.looseObject({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: Content,
});
const FunctionCallItem = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});
const FunctionCallOutputItem = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: Content,
});

/** Parts whose text the model reads: the caller's own, and the model's earlier answers sent back. */
const TEXT_PARTS = new Set(["input_text", "output_text"]);

/** An item's type; OpenAI's "easy" message form has a role and no type. */
function itemType(item: unknown, at: string): string {
  if (item === null || typeof item !== "object" || Array.isArray(item)) throw badRequest("an input item must be an object", at);
  const { type, role } = item as { type?: unknown; role?: unknown };
  if (typeof type === "string") return type;
  if (type === undefined && role !== undefined) return "message";
  throw badRequest("an input item needs a `type`", `${at}.type`);
}

function refusePart(type: string, at: string): never {
  const what: Record<string, string> = {
    input_image: "images are only taken in user messages and function call outputs",
    input_file: "files are only taken in user messages and function call outputs",
    input_audio: "audio is not supported",
  };
  throw badRequest(what[type] ?? `content parts of type "${type}" are not supported here`, `${at}.type`);
}

/**
 * Content as core parts. Text parts always; images and PDFs where the caller's own content goes (`media`: user
 * messages, function call outputs); a refusal the model wrote earlier carries no text to show it again.
 */
function contentOf(content: z.output<typeof Content>, at: string, { media = false, allowRefusal = false } = {}): Pick<ChatMessage, "content" | "parts"> {
  if (typeof content === "string") return { content };
  const parts: ContentPart[] = [];
  content.forEach((part, j) => {
    const where = `${at}[${j}]`;
    if (TEXT_PARTS.has(part.type)) {
      if (typeof part.text !== "string") throw badRequest(`an ${part.type} part needs a \`text\` string`, `${where}.text`);
      parts.push({ type: "text", text: part.text });
    } else if (media && part.type === "input_image") parts.push(fromInputImage(part, where));
    else if (media && part.type === "input_file") parts.push(fromInputFile(part, where));
    else if (!(part.type === "refusal" && allowRefusal)) refusePart(part.type, where);
  });
  return fromParts(parts);
}

function refuseItem(type: string, at: string): never {
  if (type === "item_reference") {
    // The AI SDK's default (store: true) turns every earlier answer it sends back into a reference: say the fix.
    throw badRequest(
      "item references are not supported: mlxm does not store responses; send the items themselves (clients that send references when `store` is true, such as the Vercel AI SDK, need `store: false`)",
      at,
    );
  }
  throw badRequest(
    `input items of type "${type}" are not supported: mlxm takes messages, function calls and their outputs (it runs no built-in tools)`,
    at,
  );
}

/**
 * `instructions` (first, as a system message) and `input` as core messages. A string is one user message. A
 * `function_call` joins the assistant turn just before it (a message, or other calls), as Chat Completions puts an
 * answer's text and its calls in one assistant message; `function_call_output` items become tool results, named
 * after their call, which must come before them (an output answering no call is a 400, as on OpenAI). `reasoning`
 * items are left out, as earlier turns' thinking is on the other APIs. A call no output answers is a 400 too, in
 * OpenAI's words: a model shown a call without its result would answer as if the tool had never run.
 */
export function fromResponsesInput(input: string | unknown[], instructions?: string | null): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (instructions) out.push({ role: "system", content: instructions });
  if (typeof input === "string") {
    out.push({ role: "user", content: input });
    return out;
  }
  const toolNames = new Map<string, string>();
  const unanswered = new Map<string, number>();
  // The assistant turn a function call joins: set by an assistant message or a call, cleared by anything else.
  let assistant: ChatMessage | undefined;
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    const type = itemType(item, at);
    switch (type) {
      case "message": {
        const m = parseAt(MessageItem, item, at);
        const content = contentOf(m.content, `${at}.content`, { media: m.role === "user", allowRefusal: m.role === "assistant" });
        if (m.role === "assistant") {
          assistant = { role: "assistant", ...content };
          out.push(assistant);
        } else {
          assistant = undefined;
          // A developer message is OpenAI's newer name for a system one.
          out.push({ role: m.role === "user" ? "user" : "system", ...content });
        }
        return;
      }
      case "function_call": {
        const call = parseAt(FunctionCallItem, item, at);
        toolNames.set(call.call_id, call.name);
        unanswered.set(call.call_id, i);
        if (!assistant) out.push((assistant = { role: "assistant", content: "" }));
        (assistant.toolCalls ??= []).push({ id: call.call_id, name: call.name, arguments: call.arguments });
        return;
      }
      case "function_call_output": {
        const result = parseAt(FunctionCallOutputItem, item, at);
        // As OpenAI answers: with no stored responses, the call an output answers must be in `input` before it.
        if (!toolNames.has(result.call_id)) {
          throw badRequest(`No tool call found for function call output with call_id ${result.call_id}.`, `${at}.call_id`);
        }
        assistant = undefined;
        unanswered.delete(result.call_id);
        const name = toolNames.get(result.call_id);
        out.push({ role: "tool", ...contentOf(result.output, `${at}.output`, { media: true }), toolCallId: result.call_id, ...(name ? { name } : {}) });
        return;
      }
      case "reasoning":
        return;
      default:
        refuseItem(type, `${at}.type`);
    }
  });
  for (const [callId, i] of unanswered) throw badRequest(`No tool output found for function call ${callId}.`, `input[${i}]`);
  return out;
}
