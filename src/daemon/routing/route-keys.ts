/** A route's upstream key, read at request time: from its variable, its sealed copy, or the provider's usual variable. */
import type { Route } from "./route.js";
import type { SecretBox } from "./secret-box.js";
import { UpstreamError } from "./upstream-errors.js";

export function routeApiKey(route: Route, secrets: SecretBox, readEnv: (name: string) => string | undefined): string | undefined {
  const source = route.keySource;
  switch (source.kind) {
    case "stored":
      return secrets.open(source.sealed);
    case "env": {
      const key = readEnv(source.name);
      if (!key) throw missingKey(`route ${route.pattern}: the variable ${source.name} holding its API key is not set`);
      return key;
    }
    case "default": {
      const name = route.provider === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
      const key = readEnv(name);
      if (!key) throw missingKey(`route ${route.pattern}: no API key (set ${name}, or add the route with --api-key-env/--api-key-stdin)`);
      return key;
    }
    case "none":
      return undefined;
  }
}

/**
 * A route without its key: a fallback may serve, but asking again cannot help until the daemon's configuration
 * changes, so the SDKs are told not to retry (they retry a 502 otherwise: LangChain's six retries took 30 s).
 */
function missingKey(message: string): UpstreamError {
  return new UpstreamError("upstream_error", message, true, { "x-should-retry": "false" });
}
