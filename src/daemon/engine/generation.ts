/**
 * One generation on one context sequence: chat (LlamaChat), raw completion (LlamaCompletion) and embeddings.
 * Requests are checked and translated first (`prepare*`, pure: a bad parameter is a 400 before the request
 * queues); `run*` then streams events through `emit` as tokens are generated and reports exact usage.
 */
import {
  LlamaChat,
  LlamaCompletion,
  type ChatModelFunctions,
  type GbnfJsonSchema,
  type LLamaChatGenerateResponseOptions,
  type LlamaChatResponseChunk,
  type ChatHistoryItem,
  type ChatModelResponse,
  type Llama,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaJsonSchemaGrammar,
} from "node-llama-cpp";
import type { ChatEvent, ChatRequest, CompletionRequest, FinishReason, ReasoningOptions, ResponseFormat, Usage } from "../core/chat.js";
import { HttpError, badRequest } from "../errors.js";
import { toChatHistory, type MappedHistory } from "./chat-history.js";
import { createJsonSchemaGrammar } from "./json-grammar.js";
import { toGbnfJsonSchema } from "./json-schema.js";
import type { LoadedLlamaModel } from "./llama-model.js";
import { toFinishReason, toLlamaSampling, type LlamaSampling } from "./sampling.js";
import { newToolCallId, toolMode, type ToolMode } from "./tool-calls.js";

type Format = { kind: "text" } | { kind: "json" } | { kind: "schema"; schema: GbnfJsonSchema };

export interface PreparedChat {
  mapped: MappedHistory;
  tools: ToolMode;
  sampling: LlamaSampling;
  maxTokens?: number;
  format: Format;
  /** False: at most one tool call. */
  parallelToolCalls: boolean;
  reasoning?: ReasoningOptions;
}

export interface PreparedCompletion {
  prompt: string;
  sampling: LlamaSampling;
  maxTokens?: number;
  format: Format;
}

/** Where a generation runs and reports. */
export interface GenerationTarget {
  llama: Llama;
  loaded: LoadedLlamaModel;
  sequence: LlamaContextSequence;
  signal: AbortSignal;
  emit(event: ChatEvent): void;
  /** Called once, right before the first token is generated: errors thrown earlier are the request's fault. */
  begin(): void;
}

export interface GenerationOutcome {
  finishReason: FinishReason;
  usage: Usage;
  /** The stop string that ended the generation, when one did. */
  stopSequence?: string;
  /** performance.now() of the first generated token. */
  firstTokenAt?: number;
  /** For JSON-schema output and forced tool calls: whether the result parsed and matched the schema. */
  schemaValid?: boolean;
}

export function prepareChat(request: ChatRequest): PreparedChat {
  if (!Array.isArray(request.messages)) throw badRequest("messages must be a list", "messages");
  const tools = toolMode(request.tools, request.toolChoice);
  return {
    mapped: toChatHistory(request.messages, tools.kind === "forced" ? tools.instructions : undefined),
    tools,
    sampling: toLlamaSampling(request.sampling ?? {}),
    ...(request.sampling?.maxTokens !== undefined ? { maxTokens: request.sampling.maxTokens } : {}),
    format: toFormat(request.responseFormat),
    parallelToolCalls: request.parallelToolCalls !== false,
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
 * The prompt's tokens exactly as generation will evaluate them: the history rendered by the model's chat wrapper
 * (with the tool definitions when tools are offered), tokenized by the model.
 */
export function countChatTokens(loaded: LoadedLlamaModel, prepared: PreparedChat): number {
  const functions = prepared.tools.kind === "auto" ? prepared.tools.functions : undefined;
  const { contextText } = loaded.chatWrapper.generateContextState({
    chatHistory: reasoningSetup(loaded, prepared).history,
    ...(functions ? { availableFunctions: functions, documentFunctionParams: true } : {}),
  });
  return contextText.tokenize(loaded.model.tokenizer).length;
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
    if (!reasoning.enabled) return { history }; // nothing to turn off
    throw badRequest("this model does not support thinking: its chat template has no reasoning section", "thinking");
  }
  if (reasoning.enabled) return reasoning.budgetTokens !== undefined ? { history, budgets: { thoughtTokens: reasoning.budgetTokens } } : { history };
  const last = history.at(-1);
  if (last?.type !== "model" || last.response.length > 0) return { history, budgets: { thoughtTokens: 0 } };
  const closed: ChatModelResponse = { type: "model", response: [{ type: "segment", segmentType: "thought", text: "", ended: true }] };
  return { history: [...history.slice(0, -1), closed], budgets: { thoughtTokens: 0 } };
}

export function prepareCompletion(request: CompletionRequest): PreparedCompletion {
  if (typeof request.prompt !== "string") throw badRequest("prompt must be a string", "prompt");
  return {
    prompt: request.prompt,
    sampling: toLlamaSampling(request.sampling ?? {}),
    ...(request.sampling?.maxTokens !== undefined ? { maxTokens: request.sampling.maxTokens } : {}),
    format: toFormat(request.responseFormat),
  };
}

function toFormat(format: ResponseFormat | undefined): Format {
  if (!format || format.type === "text") return { kind: "text" };
  if (format.type === "json_object") return { kind: "json" };
  if (format.type === "json_schema") return { kind: "schema", schema: toGbnfJsonSchema(format.schema, "response_format.json_schema.schema") };
  throw badRequest(`unsupported response_format type "${(format as { type: string }).type}"`, "response_format");
}

export async function runChat(target: GenerationTarget, prepared: PreparedChat): Promise<GenerationOutcome> {
  const { llama, loaded, sequence, signal, emit } = target;
  const { tools, sampling, format } = prepared;
  const { grammar, validator } = await grammarFor(llama, tools.kind === "forced" ? { kind: "schema", schema: tools.schema } : format);
  const functions: ChatModelFunctions | undefined = tools.kind === "auto" ? tools.functions : undefined;
  const { history, budgets } = reasoningSetup(loaded, prepared);
  const inputTokens = countChatTokens(loaded, prepared);
  const maxTokens = generationBudget(inputTokens, loaded.contextSize, prepared.maxTokens, "messages");

  const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: loaded.chatWrapper });
  const meter = sequence.tokenMeter.getState();
  let firstTokenAt: number | undefined;
  let forcedText = "";
  const streamedCalls = new Map<number, number>();
  let nextToolIndex = 0;
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
      if (tools.kind === "forced") forcedText += text;
      else if (text) emit({ type: "text", text });
    },
    // Main text arrives through onTextChunk; this only picks up the reasoning section.
    onResponseChunk: (chunk: LlamaChatResponseChunk) => {
      if (chunk.type === "segment" && chunk.segmentType === "thought" && chunk.text) emit({ type: "reasoning", text: chunk.text });
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
  emit({ type: "start", inputTokens });
  let stopReason: string;
  let stopSequence: string | undefined;
  let responseText = "";
  let functionCalls: { functionName: string; params: unknown }[] = [];
  try {
    const response = await chat.generateResponse(history, options);
    stopReason = response.metadata.stopReason;
    if (response.metadata.stopReason === "customStopTrigger") {
      stopSequence = matchedStop(response.metadata.customStopTrigger, sampling.customStopTriggers);
    }
    responseText = response.response;
    functionCalls = (response.functionCalls ?? []) as typeof functionCalls;
  } catch (err) {
    if (!signal.aborted) throw err;
    stopReason = "abort"; // aborted before the first token: node-llama-cpp throws instead of returning
  } finally {
    chat.dispose();
  }
  const usage = { inputTokens, outputTokens: sequence.tokenMeter.diff(meter).usedOutputTokens };
  let finishReason = toFinishReason(stopReason);
  let schemaValid: boolean | undefined;

  if (functionCalls.length) {
    functionCalls.forEach((call, i) => {
      if (streamedCalls.has(i)) return;
      const index = startCall(call.functionName);
      emit({ type: "tool_call_delta", index, argumentsDelta: JSON.stringify(call.params ?? {}) });
    });
    finishReason = "tool_calls";
  } else if (tools.kind === "forced") {
    const call = finishReason === "stop" && validator ? parseForcedCall(validator, forcedText) : undefined;
    if (call) {
      schemaValid = call.valid;
      const index = startCall(call.name);
      // Re-serialised, so clients get plain JSON whatever spacing and number forms (1e2) the grammar allowed.
      emit({ type: "tool_call_delta", index, argumentsDelta: JSON.stringify(call.arguments) });
      finishReason = "tool_calls";
    } else if (forcedText) {
      schemaValid = false;
      emit({ type: "text", text: forcedText }); // cut short (length, cancelled): show what there is
    }
  } else if (validator && finishReason === "stop") {
    schemaValid = matchesSchema(validator, responseText);
  }
  return {
    finishReason,
    usage,
    ...(stopSequence !== undefined && finishReason === "stop" ? { stopSequence } : {}),
    ...(firstTokenAt !== undefined ? { firstTokenAt } : {}),
    ...(schemaValid !== undefined ? { schemaValid } : {}),
  };
}

/** node-llama-cpp reports the trigger that fired as pieces; give back the caller's own stop string. */
function matchedStop(trigger: readonly unknown[], stops: readonly string[] | undefined): string {
  const text = trigger.filter((p): p is string => typeof p === "string").join("");
  return stops?.find((s) => s === text) ?? text;
}

export async function runCompletion(target: GenerationTarget, prepared: PreparedCompletion): Promise<GenerationOutcome> {
  const { llama, loaded, sequence, signal, emit } = target;
  const { grammar, validator } = await grammarFor(llama, prepared.format);
  const model = loaded.model;
  const tokens = model.tokenize(prepared.prompt, false);
  const bos = model.tokens.bos;
  if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens.unshift(bos);
  if (tokens.length === 0) throw badRequest("the prompt is empty", "prompt");
  const inputTokens = tokens.length;
  const maxTokens = generationBudget(inputTokens, loaded.contextSize, prepared.maxTokens, "prompt");

  const completion = new LlamaCompletion({ contextSequence: sequence });
  const meter = sequence.tokenMeter.getState();
  let firstTokenAt: number | undefined;
  target.begin();
  emit({ type: "start", inputTokens });
  let stopReason: string;
  let stopSequence: string | undefined;
  let responseText = "";
  try {
    const response = await completion.generateCompletionWithMeta(tokens, {
      ...prepared.sampling,
      maxTokens,
      signal,
      stopOnAbortSignal: true,
      ...(grammar ? { grammar } : {}),
      onToken: () => (firstTokenAt ??= performance.now()),
      onTextChunk: (text) => {
        if (text) emit({ type: "text", text });
      },
    });
    stopReason = response.metadata.stopReason;
    if (response.metadata.stopReason === "customStopTrigger") {
      stopSequence = matchedStop(response.metadata.customStopTrigger, prepared.sampling.customStopTriggers);
    }
    responseText = response.response;
  } catch (err) {
    if (!signal.aborted) throw err;
    stopReason = "abort";
  } finally {
    completion.dispose();
  }
  const finishReason = toFinishReason(stopReason);
  const schemaValid =
    validator && finishReason === "stop"
      ? matchesSchema(validator, responseText)
      : undefined;
  return {
    finishReason,
    usage: { inputTokens, outputTokens: sequence.tokenMeter.diff(meter).usedOutputTokens },
    ...(stopSequence !== undefined && finishReason === "stop" ? { stopSequence } : {}),
    ...(firstTokenAt !== undefined ? { firstTokenAt } : {}),
    ...(schemaValid !== undefined ? { schemaValid } : {}),
  };
}

/** One vector per input (L2-normalised, as Ollama's /api/embed and OpenAI return them), and the tokens read. */
export async function runEmbedding(
  loaded: LoadedLlamaModel,
  inputs: readonly string[],
  signal: AbortSignal,
): Promise<{ embeddings: number[][]; inputTokens: number }> {
  checkEmbeddingInputs(inputs);
  const context = await loaded.embeddingContext();
  const embeddings: number[][] = [];
  let inputTokens = 0;
  for (const [i, input] of inputs.entries()) {
    if (signal.aborted) throw new HttpError("cancelled", "the embedding request was cancelled");
    const length = context.calculateInputLength(input);
    if (length >= loaded.contextSize) {
      throw badRequest(`input ${i} is ${length} tokens; the context holds ${loaded.contextSize} (MLXM_CONTEXT_SIZE)`, "input");
    }
    inputTokens += length;
    const { vector } = await context.getEmbeddingFor(input);
    embeddings.push(normalize(vector));
  }
  return { embeddings, inputTokens };
}

interface Grammars {
  grammar?: LlamaGrammar;
  /** For JSON-schema output: checks the parsed result. */
  validator?: LlamaJsonSchemaGrammar<GbnfJsonSchema>;
}

/** A 400 for inputs that are not a list of strings (checked before the request queues). */
export function checkEmbeddingInputs(inputs: unknown): asserts inputs is string[] {
  if (!Array.isArray(inputs) || inputs.some((i) => typeof i !== "string")) throw badRequest("input must be a string or a list of strings", "input");
}

async function grammarFor(llama: Llama, format: Format): Promise<Grammars> {
  try {
    if (format.kind === "json") return { grammar: await llama.getGrammarFor("json") };
    if (format.kind === "schema") return await createJsonSchemaGrammar(llama, format.schema);
    return {};
  } catch (err) {
    throw badRequest(`the JSON schema cannot be turned into a grammar: ${(err as Error).message}`, "response_format");
  }
}

/**
 * Tokens this generation may produce: what was asked, at most what is left of the context (an unbounded request
 * runs until the context is full). A prompt that leaves no room is a 400.
 */
function generationBudget(inputTokens: number, contextSize: number, requested: number | undefined, param: string): number {
  const room = contextSize - inputTokens;
  if (room < 1) {
    throw badRequest(`the prompt is ${inputTokens} tokens but the context holds ${contextSize} (MLXM_CONTEXT_SIZE)`, param);
  }
  return Math.min(requested ?? room, room);
}

/** A forced tool call `{"name", "arguments"}`, or undefined when the text is not one (cut short). */
function parseForcedCall(
  grammar: LlamaJsonSchemaGrammar<GbnfJsonSchema>,
  text: string,
): { name: string; arguments: unknown; valid: boolean } | undefined {
  let value: unknown;
  let valid = true;
  try {
    value = grammar.parse(text);
  } catch {
    // Parses as JSON but breaks the schema (an integer written 1e-5): still the model's call, flagged invalid.
    valid = false;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  const call = value as { name?: unknown; arguments?: unknown } | null;
  if (!call || typeof call.name !== "string") return undefined;
  return { name: call.name, arguments: call.arguments ?? {}, valid };
}

function matchesSchema(grammar: LlamaJsonSchemaGrammar<GbnfJsonSchema>, text: string): boolean {
  try {
    grammar.parse(text);
    return true;
  } catch {
    return false;
  }
}

function normalize(vector: readonly number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  return norm > 0 ? vector.map((v) => v / norm) : [...vector];
}
