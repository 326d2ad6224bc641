/**
 * Anthropic's pairing rule for tool blocks, checked before a Messages request is translated (pure): every
 * `tool_result` answers a `tool_use` of the assistant turn right before it, and every `tool_use` is answered in the
 * user turn right after it. Anthropic answers a request that breaks either with a 400, and so does mlxm, in
 * Anthropic's words: otherwise a local model would read a result for no call (or a call never answered), and an
 * OpenAI upstream would be sent a conversation it refuses.
 */
import { badRequest } from "../errors.js";

interface MessageParam {
  role: "user" | "assistant";
  content: string | { type: string; [key: string]: unknown }[];
}

/** `(message index, block index, block)` for each block of messages `from`..`to` (inclusive). */
function* blocks(messages: readonly MessageParam[], from: number, to: number): Generator<[number, number, { type: string; [key: string]: unknown }]> {
  for (let i = from; i <= to; i++) {
    const content = messages[i]!.content;
    if (typeof content !== "string") for (const [j, block] of content.entries()) yield [i, j, block];
  }
}

/**
 * Throws the 400 Anthropic gives for the first unpaired block. Consecutive messages of one role are one turn, as
 * Anthropic merges them; a trailing assistant turn (a prefill) has no answer yet.
 */
export function checkToolPairing(messages: readonly MessageParam[]): void {
  let calls: { ids: Set<string>; at: number } | undefined;
  let start = 0;
  for (let end = 0; end < messages.length; end++) {
    if (messages[end + 1]?.role === messages[end]!.role) continue;
    if (messages[end]!.role === "assistant") {
      const ids = new Set<string>();
      for (const [, , b] of blocks(messages, start, end)) if (b.type === "tool_use" && typeof b.id === "string") ids.add(b.id);
      calls = { ids, at: end };
    } else {
      const answered = new Set<string>();
      for (const [i, j, b] of blocks(messages, start, end)) {
        // A result without an id is the translator's to refuse.
        if (b.type !== "tool_result" || typeof b.tool_use_id !== "string") continue;
        if (!calls?.ids.has(b.tool_use_id)) {
          throw badRequest(
            `unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
            `messages[${i}].content[${j}].tool_use_id`,
          );
        }
        answered.add(b.tool_use_id);
      }
      const missing = [...(calls?.ids ?? [])].filter((id) => !answered.has(id));
      if (missing.length) {
        throw badRequest(
          `\`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
          `messages[${calls!.at}]`,
        );
      }
      calls = undefined;
    }
    start = end + 1;
  }
}
