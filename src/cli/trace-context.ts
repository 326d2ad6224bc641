/**
 * Headers that carry the current command's trace to the daemon. The CLI tracer (src/observability) installs
 * a provider at start-up; with tracing off there is none and no header is sent.
 */
let provider: (() => Record<string, string>) | undefined;

export function setTraceHeaderProvider(p: (() => Record<string, string>) | undefined): void {
  provider = p;
}

export function cliTraceHeaders(): Record<string, string> {
  return provider ? provider() : {};
}
