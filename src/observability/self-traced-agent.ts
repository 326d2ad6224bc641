/**
 * An http(s) Agent whose requests are traced by their caller, not by @opentelemetry/instrumentation-http's outgoing
 * side. The routing pass-through records its call on its own GenAI client span and sends `traceparent` itself; the
 * instrumentation's wrapper would add an HTTP client span under it, bind the request and every response listener to
 * a context, and parse the request's options again. Measured on `bench/routing-overhead.ts` (see forward-transport.ts).
 * Other outgoing requests (pulls, the Hub) keep the instrumentation's spans.
 */
import type { Agent } from "node:http";

const SELF_TRACED = Symbol.for("mlxm.selfTracedAgent");

/** `agent`, marked so the daemon's instrumentation-http config skips the requests made through it. */
export function selfTraced<A extends Agent>(agent: A): A {
  (agent as unknown as Record<symbol, boolean>)[SELF_TRACED] = true;
  return agent;
}

/** instrumentation-http's `ignoreOutgoingRequestHook`: true for a request through a self-traced agent. */
export function throughSelfTracedAgent(options: { agent?: unknown }): boolean {
  const agent = options.agent;
  return typeof agent === "object" && agent !== null && (agent as Record<symbol, unknown>)[SELF_TRACED] === true;
}
