/**
 * What `mlxm run` does beyond parsing flags: stream one answer as it arrives, or hold an interactive chat on a
 * terminal (history across turns, `/bye` or Ctrl-D ends, Ctrl-C interrupts the answer without leaving). The
 * streams are injected so tests can drive it without a terminal.
 */
import readline from "node:readline";
import type { MlxmClient } from "../client/mlxm-client.js";
import type { ChatRequest, ChatResponse, Message } from "../protocol/chat.js";

/** One answer in `--json` form: the message, why it ended, tokens and timings. */
export interface RunResult {
  model: string;
  message: { role: "assistant"; content: string; tool_calls?: NonNullable<ChatResponse["message"]["tool_calls"]> };
  done_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number };
  timings: { total_ms: number; load_ms: number; prompt_eval_ms: number; eval_ms: number };
}

/** A chat request without its messages: model, options, format, keep_alive. */
export type ChatSettings = Omit<ChatRequest, "messages" | "stream">;

const ms = (ns: number | undefined) => Math.round((ns ?? 0) / 1e4) / 100;

/** Stream one answer, handing each text piece to `onText`; resolves with the whole answer. */
export async function streamAnswer(
  client: MlxmClient,
  request: ChatRequest,
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<RunResult> {
  let content = "";
  const toolCalls: NonNullable<RunResult["message"]["tool_calls"]> = [];
  for await (const line of client.chat(request, { signal })) {
    if (line.message.content) {
      content += line.message.content;
      onText(line.message.content);
    }
    if (line.message.tool_calls) toolCalls.push(...line.message.tool_calls);
    if (line.done) {
      return {
        model: line.model,
        message: { role: "assistant", content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        done_reason: line.done_reason ?? "stop",
        usage: { prompt_tokens: line.prompt_eval_count ?? 0, completion_tokens: line.eval_count ?? 0 },
        timings: {
          total_ms: ms(line.total_duration),
          load_ms: ms(line.load_duration),
          prompt_eval_ms: ms(line.prompt_eval_duration),
          eval_ms: ms(line.eval_duration),
        },
      };
    }
  }
  throw new Error("the daemon ended the answer without a final line");
}

/** The whole of a piped stdin, as the prompt. */
export async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

const HELP = `Available commands:
  /clear   Forget the conversation so far
  /bye     Exit (or Ctrl-D)
  /?       This help
Ctrl-C stops the current answer.
`;

/**
 * The interactive chat loop. Each turn sends the whole history; an interrupted answer is dropped together with its
 * question, so the history only holds complete turns.
 */
export async function chatInteractively(options: {
  client: MlxmClient;
  settings: ChatSettings;
  system?: string;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}): Promise<void> {
  const { client, settings, input, output } = options;
  const intro: Message[] = options.system ? [{ role: "system", content: options.system }] : [];
  let history: Message[] = [...intro];
  const rl = readline.createInterface({ input, output, prompt: ">>> ", terminal: (input as { isTTY?: boolean }).isTTY === true });
  let answering: AbortController | undefined;
  rl.on("SIGINT", () => {
    if (answering) {
      answering.abort();
      return;
    }
    rl.write(null, { ctrl: true, name: "u" });
    output.write("\nUse Ctrl + d or /bye to exit.\n");
    rl.prompt();
  });
  output.write("Type a message, /? for help, /bye to exit.\n");
  rl.prompt();
  try {
    for await (const line of rl) {
      const text = line.trim();
      if (text === "/bye") break;
      if (text === "/?" || text === "/help") output.write(HELP);
      else if (text === "/clear") {
        history = [...intro];
        output.write("Cleared the conversation.\n");
      } else if (/^\/\S+$/.test(text)) {
        // A mistyped command is not a message for the model (a line with spaces is: "/usr/bin holds what?").
        output.write(`Unknown command '${text}'. Type /? for help.\n`);
      } else if (text) {
        history.push({ role: "user", content: line });
        answering = new AbortController();
        try {
          const result = await streamAnswer(client, { ...settings, messages: history }, (t) => output.write(t), answering.signal);
          history.push({ role: "assistant", content: result.message.content });
          output.write("\n\n");
        } catch (err) {
          if (!answering.signal.aborted) throw err;
          history.pop();
          output.write("\n^C (answer interrupted)\n\n");
        } finally {
          answering = undefined;
        }
      }
      rl.prompt();
    }
  } finally {
    rl.close();
  }
}
