/** One streamed chat completion through the official OpenAI SDK, timed the same way for every server benchmarked. */
import type OpenAI from "openai";

export interface StreamSample {
  ttftMs: number;
  tokens: number;
  /** Decode rate after the first token: (tokens - 1) / (end - first token). Inflated when a server batches chunks. */
  tokensPerSecond: number;
  /** tokens / (end - request start): what a client experiences; the ratio the goals use. */
  endToEndTokensPerSecond: number;
}

/** Streams `prompt` greedily for at most `maxTokens`; tokens come from the usage chunk (else the content chunks). */
export async function streamSample(
  client: OpenAI,
  model: string,
  prompt: string,
  maxTokens: number,
  extra: Record<string, unknown> = {},
): Promise<StreamSample> {
  const started = performance.now();
  let first = Number.NaN;
  let tokens = 0;
  let chunks = 0;
  const s = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: prompt }],
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
  for await (const chunk of s) {
    if (chunk.usage?.completion_tokens) tokens = chunk.usage.completion_tokens;
    if (chunk.choices[0]?.delta?.content && chunks++ === 0) first = performance.now();
  }
  const end = performance.now();
  tokens ||= chunks;
  return {
    ttftMs: first - started,
    tokens,
    tokensPerSecond: ((tokens - 1) / (end - first)) * 1000,
    endToEndTokensPerSecond: (tokens / (end - started)) * 1000,
  };
}
