/**
 * From the internal chat model's messages to node-llama-cpp's chat history. Pure.
 *
 * node-llama-cpp keeps a tool call and its result inside the model turn that made the call, and the model's text
 * after the results continues that same turn; so tool results are attached to their calls by `toolCallId`, and an
 * assistant message following tool results extends the turn that called the tools. The history always ends with a
 * model turn for the generation to fill or continue (a trailing assistant message is a prefill to continue).
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from "node-llama-cpp";
import type { ChatMessage } from "../core/chat.js";

export interface MappedHistory {
  history: ChatHistoryItem[];
  /** The last turn is the caller's assistant text, which the generation continues. */
  prefill: boolean;
}

/**
 * Maps `messages`. `extraSystem` (tool instructions) is appended to the first system message, or becomes one.
 */
export function toChatHistory(messages: readonly ChatMessage[], extraSystem?: string): MappedHistory {
  const history: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();

  for (const message of messages) {
    switch (message.role) {
      case "system":
        history.push({ type: "system", text: message.content });
        break;
      case "user":
        history.push({ type: "user", text: message.content });
        break;
      case "assistant": {
        const last = history.at(-1);
        const turn: ChatModelResponse = last?.type === "model" && endsWithCall(last) ? last : { type: "model", response: [] };
        if (turn !== last) history.push(turn);
        if (message.content) turn.response.push(message.content);
        for (const call of message.toolCalls ?? []) {
          const item: ChatModelFunctionCall = { type: "functionCall", name: call.name, params: parseJson(call.arguments), result: "" };
          turn.response.push(item);
          calls.set(call.id, item);
        }
        break;
      }
      case "tool": {
        const call = message.toolCallId === undefined ? undefined : calls.get(message.toolCallId);
        if (call) {
          call.result = parseJson(message.content);
        } else {
          // A result for a call we never saw: keep the information as a user turn rather than drop it.
          const label = message.name ? ` of ${message.name}` : "";
          history.push({ type: "user", text: `Tool result${label}: ${message.content}` });
        }
        break;
      }
    }
  }

  if (extraSystem) {
    const system = history.find((item) => item.type === "system");
    if (system && typeof system.text === "string") system.text = `${system.text}\n\n${extraSystem}`;
    else history.unshift({ type: "system", text: extraSystem });
  }

  const last = history.at(-1);
  if (last?.type === "model") return { history, prefill: typeof last.response.at(-1) === "string" };
  history.push({ type: "model", response: [] });
  return { history, prefill: false };
}

function endsWithCall(turn: ChatModelResponse): boolean {
  const last = turn.response.at(-1);
  return typeof last === "object" && last.type === "functionCall";
}

/** Tool arguments and results are JSON text; keep text that is not JSON as it is. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
