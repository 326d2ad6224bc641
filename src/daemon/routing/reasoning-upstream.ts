/**
 * A caller's reasoning request (OpenAI's `reasoning_effort` / `reasoning.effort`, Ollama's `think`, Anthropic's
 * `thinking`) as a translated upstream takes it, so that it is not silently dropped on the way.
 *
 * OpenAI-protocol upstreams get `reasoning_effort`: the caller's level, or the level nearest a thinking budget. Turning
 * reasoning off is sent only to another mlxm daemon ("none"): OpenAI's models differ in their lowest level ("none",
 * "minimal", "low") and refuse the others, and a model that does not reason refuses the field altogether.
 *
 * Anthropic upstreams get `thinking`: a budget (the caller's, or one per level, LiteLLM's mapping extended), with
 * `max_tokens` raised above it when the caller set no limit, as Anthropic requires budget < max_tokens.
 */
import type { ChatMessage, ReasoningEffort, ReasoningOptions } from "../core/chat.js";
import type { Provider } from "../../protocol/routes.js";
import { badRequest } from "../errors.js";

/** Anthropic's smallest thinking budget. */
export const MIN_THINKING_BUDGET = 1024;

/** A level's thinking budget on Anthropic (LiteLLM maps low/medium/high to 1024/2048/4096). */
const BUDGET: Record<ReasoningEffort, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096, xhigh: 8192, max: 16384 };

/** `reasoning_effort` for an OpenAI-protocol upstream, or undefined to send none. */
export function openAIReasoningEffort(reasoning: ReasoningOptions | undefined, provider: Provider): ReasoningEffort | "none" | undefined {
  if (!reasoning) return undefined;
  if (!reasoning.enabled) return provider === "mlxm" ? "none" : undefined;
  if (reasoning.effort) return reasoning.effort;
  const budget = reasoning.budgetTokens;
  if (budget === undefined) return undefined;
  return budget <= BUDGET.low ? "low" : budget <= BUDGET.medium ? "medium" : "high";
}

export type AnthropicThinking = { type: "enabled"; budget_tokens: number } | { type: "disabled" };

/**
 * `thinking` and the `max_tokens` to send with it, or undefined to send none. `maxTokens`: the caller's limit, if it
 * gave one; `defaultMaxTokens`: what a request without one gets.
 */
export function anthropicThinking(
  reasoning: ReasoningOptions | undefined,
  messages: ChatMessage[],
  maxTokens: number | undefined,
  defaultMaxTokens: number,
): { thinking: AnthropicThinking; maxTokens: number } | undefined {
  if (!reasoning) return undefined;
  if (!reasoning.enabled) return { thinking: { type: "disabled" }, maxTokens: maxTokens ?? defaultMaxTokens };
  // Anthropic wants the signed thinking block of the assistant turn a tool loop continues; the core history has no
  // signatures, so such a continuation goes without thinking (Anthropic allows turning it off between requests).
  if (continuesToolLoop(messages)) return undefined;
  let budget = reasoning.budgetTokens ?? BUDGET[reasoning.effort ?? "medium"];
  if (maxTokens === undefined) return { thinking: { type: "enabled", budget_tokens: budget }, maxTokens: defaultMaxTokens + budget };
  budget = Math.min(budget, maxTokens - 1);
  if (budget < MIN_THINKING_BUDGET) {
    throw badRequest(`reasoning on Anthropic needs a thinking budget of at least ${MIN_THINKING_BUDGET} tokens, below the output limit: raise the token limit above ${MIN_THINKING_BUDGET}`, reasoning.param ?? "thinking");
  }
  return { thinking: { type: "enabled", budget_tokens: budget }, maxTokens };
}

/** Whether the conversation ends with tool results answering the last assistant turn's calls. */
function continuesToolLoop(messages: ChatMessage[]): boolean {
  let i = messages.length - 1;
  while (i >= 0 && messages[i]!.role === "tool") i--;
  return i < messages.length - 1 && i >= 0 && messages[i]!.role === "assistant" && (messages[i]!.toolCalls?.length ?? 0) > 0;
}
