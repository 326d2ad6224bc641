/**
 * One generation on one context sequence: chat (LlamaChat), and what every generation shares (the response format,
 * the token budget, usage, the schema check); raw completion (LlamaCompletion) is in completion.ts, embeddings in
 * embedding.ts.
 * Requests are checked and translated first (`prepare*`, pure: a bad parameter is a 400 before the request
 * queues); `run*` then streams events through `emit` as tokens are generated and reports exact usage.
 */
import {
  LlamaChat,
  type ChatModelFunctions,
  type LLamaChatGenerateResponseOptions,
  type LlamaChatResponseChunk,
  type ChatHistoryItem,
  type ChatModelResponse,
  type Llama,
  type LlamaContextSequence,
  type LlamaGrammar,
  type Token,
} from "node-llama-cpp";
import type { ChatEvent, ChatRequest, FinishReason, ReasoningOptions, ResponseFormat, Usage } from "../core/chat.js";
import { badRequest, contextLengthExceeded } from "../errors.js";
import { refuseMedia } from "./text-only.js";
import { toChatHistory, type MappedHistory } from "./chat-history.js";
import { ForcedCallStream } from "./grammar/forced-call-stream.js";
import type { PreparedGrammar, PreparedSchema, SchemaGrammars } from "./grammar/schema-grammars.js";
import type { SchemaCheck } from "./grammar/schema-validator.js";
import type { LoadedLlamaModel } from "./llama-model.js";
import { forContextSize, toFinishReason, toLlamaSampling, type LlamaSampling } from "./sampling.js";
import { AnswerText } from "./stop-strings.js";
import { newToolCallId, toolMode, type ToolMode } from "./tool-calls.js";

export type Format = { kind: "text" } | { kind: "json" } | { kind: "schema"; schema: PreparedSchema };

export interface PreparedChat {
  mapped: MappedHistory;
  tools: ToolMode;
  sampling: LlamaSampling;
  maxTokens?: number;
  format: Format;
  /** False: at most one tool call. */
  parallelToolCalls: boolean;
  /** Where the conversation sits in the caller's request (see ChatRequest.messagesParam). */
  messagesParam: string;
  reasoning?: ReasoningOptions;
}

/** Where a generation runs and reports. */
export interface GenerationTarget {
  llama: Llama;
  loaded: LoadedLlamaModel;
  sequence: LlamaContextSequence;
  /** The prompt, tokenized by {@link chatPrompt} or {@link completionPrompt}. */
  prompt: Token[];
  /** Leading prompt tokens the sequence already holds: node-llama-cpp keeps them and evaluates only the rest. */
  cachedTokens: number;
  signal: AbortSignal;
  emit(event: ChatEvent): void;
  /** Called once, right before the first token is generated: errors thrown earlier are the request's fault. */
  begin(): void;
  /** Where compiled grammars are cached. */
  grammars: SchemaGrammars;
}

export interface GenerationOutcome {
  finishReason: FinishReason;
  usage: Usage;
  /** The stop string that ended the generation, when one did. */
  stopSequence?: string;
  /** performance.now() of the first generated token. */
  firstTokenAt?: number;
  /** For JSON-schema output and tool calls that completed: whether the result parsed and matched the schema. */
  schemaValid?: boolean;
  /** When it did not: the validator's error (the grammar should make this impossible: a compiler bug). */
  schemaError?: string;
  /**
   * The checked JSON was a call the model made on its own (`auto`), which node-llama-cpp's function calling holds to
   * the schema's structure only (not patterns, bounds or formats): a mismatch is the model's, not a compiler bug.
   */
  schemaUnconstrained?: boolean;
  /** For schema-constrained generations: grammar compile time for this request and whether the cache had it. */
  grammar?: { compileMs: number; cached: boolean };
}

export function prepareChat(request: ChatRequest, grammars: SchemaGrammars): PreparedChat {
  if (!Array.isArray(request.messages)) throw badRequest("messages must be a list", "messages");
  refuseMedia(request);
  const tools = toolMode(request.tools, request.toolChoice, grammars, request.responseFormat);
  return {
    mapped: toChatHistory(request.messages, tools.kind === "forced" ? tools.instructions : undefined),
    tools,
    sampling: toLlamaSampling(request.sampling ?? {}),
    ...(request.sampling?.maxTokens !== undefined ? { maxTokens: request.sampling.maxTokens } : {}),
    format: toFormat(request.responseFormat, grammars),
    parallelToolCalls: request.parallelToolCalls !== false,
    messagesParam: request.messagesParam ?? "messages",
    ...(request.reasoning ? { reasoning: checkReasoning(request.reasoning) } : {}),
  };
}

function checkReasoning(reasoning: ReasoningOptions): ReasoningOptions {
  const budget = reasoning.budgetTokens;
  if (budget !== undefined && (!Number.isInteger(budget) || budget < 0)) throw badRequest(`invalid thinking budget: ${budget}`, "thinking");
  return reasoning;
}

/** Whether the model's chat template has a reasoning section (`<think>…</think>` and the like). */
export function supportsReasoning(loaded: LoadedLlamaModel): boolean {
  return loaded.chatWrapper.settings.segments?.thought !== undefined;
}

/**
 * How many tokens the prompt of `prepared` is: the tokens {@link chatPrompt} gives generation, so a count_tokens
 * answer and a generation's input tokens agree.
 */
export function countChatTokens(loaded: LoadedLlamaModel, prepared: PreparedChat): number {
  return chatPrompt(loaded, prepared).length;
}

/**
 * The history and thought budget for a request's reasoning options. Reasoning turned off on a reasoning model
 * becomes an empty, closed reasoning section at the start of the answer (as Qwen3's templates do for
 * `enable_thinking: false`): a zero thought budget alone still lets a few tokens into the section first.
 */
function reasoningSetup(loaded: LoadedLlamaModel, prepared: PreparedChat): { history: ChatHistoryItem[]; budgets?: { thoughtTokens: number } } {
  const { history } = prepared.mapped;
  const reasoning = prepared.reasoning;
  if (!reasoning) return { history };
  if (!supportsReasoning(loaded)) {
    // Nothing to turn off; a level sent by default (see ReasoningOptions.hint) leaves the answer without reasoning.
    if (!reasoning.enabled || reasoning.hint) return { history };
    throw badRequest("this model does not support thinking: its chat template has no reasoning section", reasoning.param ?? "thinking");
  }
  if (reasoning.enabled) return reasoning.budgetTokens !== undefined ? { history, budgets: { thoughtTokens: reasoning.budgetTokens } } : { history };
  const last = history.at(-1);
  if (last?.type !== "model" || last.response.length > 0) return { history, budgets: { thoughtTokens: 0 } };
  const closed: ChatModelResponse = { type: "model", response: [{ type: "segment", segmentType: "thought", text: "", ended: true }] };
  return { history: [...history.slice(0, -1), closed], budgets: { thoughtTokens: 0 } };
}

export function toFormat(format: ResponseFormat | undefined, grammars: SchemaGrammars): Format {
  if (!format || format.type === "text") return { kind: "text" };
  if (format.type === "json_object") return { kind: "json" };
  if (format.type === "json_schema") return { kind: "schema", schema: grammars.schema(format.schema, format.param ?? "response_format.json_schema.schema") };
  throw badRequest(`unsupported response_format type "${(format as { type: string }).type}"`, "response_format");
}

/**
 * The tokens LlamaChat will evaluate for `prepared` (the same rendering: the history after the reasoning options, then
 * the function documentation in the system prompt when tools are offered), so a sequence can be chosen by the prefix
 * it shares with them before generation starts, and count_tokens counts what generation evaluates.
 */
export function chatPrompt(loaded: LoadedLlamaModel, prepared: PreparedChat): Token[] {
  const functions = chatFunctions(prepared.tools);
  const { contextText } = loaded.chatWrapper.generateContextState({
    chatHistory: reasoningSetup(loaded, prepared).history,
    ...(functions ? { availableFunctions: functions, documentFunctionParams: true } : {}),
  });
  return contextText.tokenize(loaded.model.tokenizer);
}

function chatFunctions(tools: ToolMode): ChatModelFunctions | undefined {
  return tools.kind === "auto" ? tools.functions : undefined;
}

export async function runChat(target: GenerationTarget, prepared: PreparedChat): Promise<GenerationOutcome> {
  const { llama, loaded, sequence, emit } = target;
  const { tools, format } = prepared;
  const { stop, ...sampling } = forContextSize(prepared.sampling, loaded.contextSize);
  const constraint: PreparedGrammar | undefined = tools.kind === "forced" ? tools.grammar : format.kind === "schema" ? format.schema : undefined;
  const grammar = await grammarFor(target, constraint ?? format);
  const functions = chatFunctions(tools);
  const { history, budgets } = reasoningSetup(loaded, prepared);
  const inputTokens = target.prompt.length;
  const maxTokens = generationBudget(inputTokens, loaded.contextSize, prepared.maxTokens, prepared.messagesParam);

  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: loaded.chatWrapper });
  const meter = sequence.tokenMeter.getState();
  let firstTokenAt: number | undefined;
  const forced = tools.kind === "forced" ? new ForcedCallStream() : undefined;
  // A call of mlxm's answer function (`auto` tools with a response format) is the answer: its arguments stream as text.
  const answerFunction = tools.kind === "forced" ? tools.answer : undefined;
  let answering = false;
  // A forced call is mlxm's own wrapper text (`{"name":…`), which stop strings are not matched against; the answer
  // function's arguments are, as the caller gets them as text.
  const answer = new AnswerText(forced && answerFunction === undefined ? undefined : stop, target.signal);
  const { signal } = answer;
  const answerText = (text: string) => {
    const out = answer.push(text);
    if (out) emit({ type: "text", text: out });
  };
  let forcedIndex: number | undefined;
  const streamedCalls = new Map<number, number>();
  let nextToolIndex = 0;
  let reasoningTokens = 0;
  const startCall = (name: string): number => {
    const index = nextToolIndex++;
    emit({ type: "tool_call_start", index, id: newToolCallId(), name });
    return index;
  };

  const options = {
    ...sampling,
    maxTokens,
    signal,
    stopOnAbortSignal: true,
    onToken: () => (firstTokenAt ??= performance.now()),
    onTextChunk: (text: string) => {
      if (!forced) return answerText(text);
      // A forced call streams like an `auto` one: the name once it is written, then its arguments as deltas.
      for (const piece of forced.push(text)) {
        if (piece.type === "start") {
          if (piece.name === answerFunction) answering = true;
          else forcedIndex = startCall(piece.name);
        } else if (answering) answerText(piece.delta);
        else emit({ type: "tool_call_delta", index: forcedIndex!, argumentsDelta: piece.delta });
      }
    },
    // Main text arrives through onTextChunk; this only picks up the reasoning section.
    onResponseChunk: (chunk: LlamaChatResponseChunk) => {
      if (chunk.type !== "segment" || chunk.segmentType !== "thought") return;
      reasoningTokens += chunk.tokens.length;
      if (chunk.text) emit({ type: "reasoning", text: chunk.text });
    },
    ...(budgets ? { budgets } : {}),
    ...(grammar ? { grammar } : {}),
    ...(functions
      ? {
          functions,
          documentFunctionParams: true,
          ...(prepared.parallelToolCalls ? {} : { maxParallelFunctionCalls: 1 }),
          onFunctionCallParamsChunk: (chunk: { callIndex: number; functionName: string; paramsChunk: string }) => {
            firstTokenAt ??= performance.now();
            let index = streamedCalls.get(chunk.callIndex);
            if (index === undefined) {
              index = startCall(chunk.functionName);
              streamedCalls.set(chunk.callIndex, index);
            }
            if (chunk.paramsChunk) emit({ type: "tool_call_delta", index, argumentsDelta: chunk.paramsChunk });
          },
        }
      : {}),
    // node-llama-cpp types grammar and functions as exclusive; LlamaChatSession passes both the same way.
  } as LLamaChatGenerateResponseOptions<ChatModelFunctions>;

  target.begin();
  emit({ type: "start", inputTokens, ...(target.cachedTokens ? { cachedInputTokens: target.cachedTokens } : {}) });
  let stopReason: string;
  let functionCalls: { functionName: string; params: unknown }[] = [];
  try {
    const response = await chat.generateResponse(history, options);
    stopReason = response.metadata.stopReason;
    functionCalls = (response.functionCalls ?? []) as typeof functionCalls;
  } catch (err) {
    if (!signal.aborted) throw err;
    stopReason = "abort"; // aborted before the first token: node-llama-cpp throws instead of returning
  } finally {
    chat.dispose();
  }
  // An answer cut short (token budget, abort) still gives the character the call stream held back as a possible end
  // of its wrapper; a finished one has given all of it.
  if (answering && toFinishReason(stopReason) !== "stop") answerText(forced!.rest());
  stopReason = answer.finish(stopReason, emit);
  const stopSequence = answer.matched;
  const responseText = answer.text;
  const usage = usageOf(target, sequence.tokenMeter.diff(meter).usedOutputTokens, reasoningTokens);
  let finishReason = toFinishReason(stopReason);
  let check: SchemaCheck | undefined;
  let unconstrained = false;

  if (functionCalls.length) {
    functionCalls.forEach((call, i) => {
      const valid = tools.kind === "auto" ? tools.checks.get(call.functionName)?.(call.params ?? {}) : undefined;
      if (valid && !valid.valid) check = valid;
      check ??= valid;
      unconstrained = true;
      if (streamedCalls.has(i)) return;
      const index = startCall(call.functionName);
      emit({ type: "tool_call_delta", index, argumentsDelta: JSON.stringify(call.params ?? {}) });
    });
    finishReason = "tool_calls";
  } else if (forced && tools.kind === "forced") {
    // A stop string ends an answer before its grammar does: the text is cut, not a violation to check.
    const args = finishReason === "stop" && stopSequence === undefined ? forced.arguments() : undefined;
    if (answering) {
      // The answer went out as text; the finish reason stays the generation's own ("stop" when complete).
      if (args !== undefined) check = parseAndCheck(args, tools.grammar.checks.get(answerFunction!));
    } else if (args !== undefined && forcedIndex !== undefined) {
      finishReason = "tool_calls";
      const name = [...tools.grammar.checks.keys()].find((n) => forced.text.startsWith(`{"name":${JSON.stringify(n)},`));
      check = parseAndCheck(args, name === undefined ? undefined : tools.grammar.checks.get(name));
    } else if (forcedIndex === undefined && tools.grammar.checks.size === 1) {
      // Cut short before the name was written, but only one tool could be called: a call with no arguments yet.
      startCall([...tools.grammar.checks.keys()][0]!);
    }
    // Otherwise nothing is shown: the text so far is mlxm's own call wrapper (`{"name":…`), which no client should
    // take for the model's answer; the finish reason ("length") says what happened.
  } else if (format.kind === "schema" && finishReason === "stop") {
    check = parseAndCheck(responseText, format.schema.check);
  }
  return {
    finishReason,
    usage,
    ...(stopSequence !== undefined && finishReason === "stop" ? { stopSequence } : {}),
    ...(firstTokenAt !== undefined ? { firstTokenAt } : {}),
    ...schemaOutcome(check, constraint),
    ...(check && unconstrained ? { schemaUnconstrained: true } : {}),
  };
}

/**
 * Usage of a generation on `target`: the whole prompt counts as input, its reused prefix also as cached. The tokens
 * of the reasoning section are part of the output, counted apart; at most the output, since node-llama-cpp's thought
 * chunks can carry a few more tokens than its token meter counts as generated (14 against 12 at `maxTokens` 12, seen
 * on a tiny model), and the meter is what every API reports as output.
 */
export function usageOf(target: GenerationTarget, outputTokens: number, reasoningTokens = 0): Usage {
  const reasoning = Math.min(reasoningTokens, outputTokens);
  return { inputTokens: target.prompt.length, outputTokens, cachedInputTokens: target.cachedTokens, ...(reasoning ? { reasoningTokens: reasoning } : {}) };
}

/** The grammar a generation runs under: a compiled schema (cached), plain JSON, or none. */
export async function grammarFor(target: GenerationTarget, format: PreparedGrammar | Format): Promise<LlamaGrammar | undefined> {
  if ("gbnf" in format) return target.grammars.grammar(target.llama, target.loaded.model.filename ?? "", format);
  if (format.kind === "json") return target.llama.getGrammarFor("json");
  return undefined;
}

/**
 * Tokens this generation may produce: what was asked, at most what is left of the context (an unbounded request
 * runs until the context is full). A prompt that leaves no room is a 400.
 */
export function generationBudget(inputTokens: number, contextSize: number, requested: number | undefined, param: string): number {
  const room = contextSize - inputTokens;
  if (room < 1) {
    throw contextLengthExceeded(`the prompt is ${inputTokens} tokens but the context holds ${contextSize} (MLXM_CONTEXT_SIZE)`, param, {
      prompt_tokens: inputTokens,
      context_size: contextSize,
    });
  }
  return Math.min(requested ?? room, room);
}

/** Parses generated JSON and checks it; text that does not parse is a failed check too. */
export function parseAndCheck(text: string, check: ((value: unknown) => SchemaCheck) | undefined): SchemaCheck | undefined {
  if (!check) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { valid: false, error: `not JSON: ${(err as Error).message}` };
  }
  return check(value);
}

export function schemaOutcome(check: SchemaCheck | undefined, constraint: PreparedGrammar | undefined): Partial<GenerationOutcome> {
  return {
    ...(check ? { schemaValid: check.valid } : {}),
    ...(check?.error ? { schemaError: check.error } : {}),
    ...(constraint ? { grammar: { compileMs: constraint.compileMs, cached: constraint.cached } } : {}),
  };
}
