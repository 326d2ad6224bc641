/**
 * The conversation benchmark of `bench/inference.ts` (issue #14): two chats behind the same long system prompt take
 * turns, with an unrelated request between every two turns (what a chat UI or coding agent with side requests
 * does), each turn resending the whole history. TTFT per turn shows whether a server re-reads the history (turn N
 * costs like turn 1) or evaluates only the new tokens. Systems take their turns in lockstep, turn by turn.
 */
import type OpenAI from "openai";

export interface ConversationSystem {
  who: string;
  client: OpenAI;
  /** Extra request fields (llama-server: `cache_prompt`, `ignore_eos`). */
  extra: Record<string, unknown>;
}

export interface ConversationOptions {
  model: string;
  system: string;
  turns: number;
  /** Reply length per turn; short, so TTFT is what a turn costs. */
  replyTokens: number;
}

type Message = { role: "system" | "user" | "assistant"; content: string };

/** TTFT (ms) per turn, the mean of the two conversations, and prompt/cached tokens of conversation A's turns. */
export interface ConversationResult {
  ttftMs: number[];
  promptTokens: number[];
  cachedTokens: (number | undefined)[];
}

async function turn(x: ConversationSystem, model: string, messages: Message[], maxTokens: number) {
  const started = performance.now();
  let first = Number.NaN;
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined;
  const stream = await x.client.chat.completions.create({
    model,
    messages,
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
    ...x.extra,
  } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta?.content;
    if (delta) {
      if (!text) first = performance.now();
      text += delta;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { ttftMs: first - started, text, usage };
}

/** Runs the two interleaved conversations on every system, turn by turn. */
export async function runConversations(systems: ConversationSystem[], o: ConversationOptions): Promise<Map<string, ConversationResult>> {
  const results = new Map<string, ConversationResult>(systems.map((x) => [x.who, { ttftMs: [], promptTokens: [], cachedTokens: [] }]));
  const histories = new Map(systems.map((x) => [x.who, { a: [{ role: "system", content: o.system }] as Message[], b: [{ role: "system", content: o.system }] as Message[] }]));
  for (let t = 0; t < o.turns; t++) {
    for (const x of systems) {
      const h = histories.get(x.who)!;
      const r = results.get(x.who)!;
      const ttft: number[] = [];
      for (const [name, messages] of [["a", h.a], ["b", h.b]] as const) {
        messages.push({ role: "user", content: `Conversation ${name}, turn ${t + 1}: what happens next in the story?` });
        const reply = await turn(x, o.model, messages, o.replyTokens);
        messages.push({ role: "assistant", content: reply.text });
        ttft.push(reply.ttftMs);
        if (name === "a") {
          r.promptTokens.push(reply.usage?.prompt_tokens ?? Number.NaN);
          r.cachedTokens.push(reply.usage?.prompt_tokens_details?.cached_tokens ?? undefined);
        }
        // Something else uses the server between turns (a title generator, a tool's side question).
        await turn(x, o.model, [{ role: "user", content: `Unrelated question ${t}${name}: name a colour.` }], 4);
      }
      r.ttftMs.push((ttft[0]! + ttft[1]!) / 2);
      // Progress on stderr, so a run cut short still shows what it measured.
      process.stderr.write(`turn ${t + 1} ${x.who}: TTFT ${r.ttftMs.at(-1)!.toFixed(0)} ms (a ${ttft[0]!.toFixed(0)}, b ${ttft[1]!.toFixed(0)}), prompt ${r.promptTokens.at(-1)}, cached ${r.cachedTokens.at(-1) ?? "-"}\n`);
    }
  }
  return results;
}

/** A system prompt of about `tokens` tokens for `tokenize`. */
export function systemPromptOf(tokens: number, tokenize: (text: string) => number): string {
  const sentence = "You are a patient storyteller; keep every detail of the lighthouse, the keeper and the map consistent. ";
  let text = "";
  while (tokenize(text) < tokens) text += sentence;
  return text;
}

/** Markdown table: TTFT per turn for each system, and each turn's TTFT as a share of the system's own turn 1. */
export function conversationTable(results: Map<string, ConversationResult>, turns: number): string {
  const who = [...results.keys()];
  const lines = [
    `| turn | ${who.map((w) => `${w} TTFT (ms)`).join(" | ")} | ${who.map((w) => `${w} ÷ own turn 1`).join(" | ")} |`,
    `|---|${who.map(() => "---|").join("")}${who.map(() => "---|").join("")}`,
  ];
  for (let t = 0; t < turns; t++) {
    const ttft = who.map((w) => results.get(w)!.ttftMs[t]!);
    const share = who.map((w) => results.get(w)!.ttftMs[t]! / results.get(w)!.ttftMs[0]!);
    lines.push(`| ${t + 1} | ${ttft.map((x) => x.toFixed(0)).join(" | ")} | ${share.map((x) => x.toFixed(2)).join(" | ")} |`);
  }
  return lines.join("\n");
}
