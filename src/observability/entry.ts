/**
 * The first thing both entrypoints run. For now a no-op shell; tracing plugs in here so that it is configured
 * before any other module is imported.
 */
export interface Observability {
  /** End the command's root span (with the error, if any) and flush. Never throws. */
  finish(error?: unknown): Promise<void>;
}

export async function startObservability(_argv: string[]): Promise<Observability> {
  return { finish: async () => {} };
}
