/**
 * What a request cost, from Pydantic's maintained price table (`@pydantic/genai-prices`), never hand-typed prices.
 * Local models (and other mlxm daemons, which run local models) cost 0; an OpenAI-compatible server is priced when its
 * base URL is a provider the table knows (Groq, OpenRouter, …), else the cost is unknown (null).
 */
import { calcPrice } from "@pydantic/genai-prices";
import type { Provider } from "../../protocol/routes.js";

export interface PricedUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens?: number;
  /** Input tokens written to the provider's prompt cache (part of inputTokens; billed above plain input). */
  cacheCreationInputTokens?: number;
}

/** USD for one request, or null when the model's price is not known. */
export function costOf(provider: Provider | "local", model: string, usage: PricedUsage, baseUrl?: string | null): number | null {
  if (provider === "local" || provider === "mlxm") return 0;
  const priced = {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    // genai-prices takes the whole prompt as input_tokens and prices the cache reads and writes within it apart.
    ...(usage.cachedInputTokens ? { cache_read_tokens: Math.min(usage.cachedInputTokens, usage.inputTokens) } : {}),
    ...(usage.cacheCreationInputTokens ? { cache_write_tokens: Math.min(usage.cacheCreationInputTokens, usage.inputTokens) } : {}),
  };
  const options =
    provider === "openai-compatible" ? (baseUrl ? { providerApiUrl: baseUrl } : undefined) : { providerId: provider };
  if (!options) return null;
  try {
    return calcPrice(priced, model, options)?.total_price ?? null;
  } catch {
    // An unknown provider URL throws in some versions; that is "price unknown", not a failed request.
    return null;
  }
}
