/**
 * The official SDKs, imported on first use instead of at start-up. Together they are about 430 ES modules, and
 * every ES module a daemon imports costs a round trip to the tracing loader hook's thread: loading them made about
 * half a second of every daemon start, for daemons that may never route a request. The first routed request of
 * each SDK pays the import instead. Both are still imported after the hook is registered (daemon-setup.ts), so the
 * OpenAI instrumentation still wraps the `openai` module.
 */
import type * as OpenAISdk from "openai";
import type * as AnthropicSdk from "@anthropic-ai/sdk";

let openai: Promise<typeof OpenAISdk> | undefined;
let anthropic: Promise<typeof AnthropicSdk> | undefined;
/** The modules once imported: what `upstream-errors.ts` checks errors against (an SDK not loaded threw none). */
export const loadedSdks: { openai?: typeof OpenAISdk; anthropic?: typeof AnthropicSdk } = {};

export function openAISdk(): Promise<typeof OpenAISdk> {
  return (openai ??= import("openai").then((sdk) => (loadedSdks.openai = sdk)));
}

export function anthropicSdk(): Promise<typeof AnthropicSdk> {
  return (anthropic ??= import("@anthropic-ai/sdk").then((sdk) => (loadedSdks.anthropic = sdk)));
}
