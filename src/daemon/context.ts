/**
 * What the HTTP layer is given: fixed facts about the daemon and its services, which exist only once
 * start-up has finished (until then `services()` throws a 503 `starting` error).
 */
import type { MlxmConfig } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { SpanIngest } from "./traces/span-ingest.js";
import type { ModelService } from "./core/model-service.js";
import type { PullManager } from "./hub/pull/pull-manager.js";
import type { ModelLibrary } from "./library/model-library.js";
import type { AcceleratorInfo } from "./engine/accelerator.js";
import type { RoutingModelService } from "./routing/router.js";
import type { SecretBox } from "./routing/secret-box.js";
import { HttpError } from "./errors.js";
import type { Store } from "./store/store.js";
import type { KeyVerifier } from "./auth/key-verifier.js";

/** Everything the routes use; later capabilities (engine, hub, router) add their service here. */
export interface DaemonServices {
  store: Store;
  spanIngest: SpanIngest;
  /** The models: the router, in front of the local engine and the upstreams. */
  models: ModelService;
  /** Hugging Face pulls, owned by the daemon. */
  pulls: PullManager;
  /** Imports, presets, aliases and Hub search. */
  library: ModelLibrary;
  /** The local engine's compute backend, once its binding is up (undefined before). */
  accelerator(): Promise<AcceleratorInfo | undefined>;
  /** The router (also `models`): route table, upstreams, fallback. */
  router: RoutingModelService;
  /** Seals upstream keys stored with a route. */
  secrets: SecretBox;
}

export interface DaemonContext {
  version: string;
  config: MlxmConfig;
  logger: Logger;
  metrics: Metrics;
  startedAt: Date;
  /** The admin token and API keys the front door accepts. */
  verifier: KeyVerifier;
  /** The address actually bound (port 0 resolves to a real port). */
  address(): string;
  /** True while shutting down: new requests get 503. */
  draining(): boolean;
  /** The services, or a 503 `starting` HttpError while start-up is still running. */
  services(): DaemonServices;
  isReady(): boolean;
}

/** A context whose services are filled in once start-up completes. */
export function createContext(base: Omit<DaemonContext, "services" | "isReady" | "draining">) {
  let services: DaemonServices | undefined;
  let draining = false;
  const context: DaemonContext = {
    ...base,
    services() {
      if (!services) throw new HttpError("starting", "the daemon is starting; try again in a moment", undefined, { "retry-after": "1" });
      return services;
    },
    isReady: () => services !== undefined && !draining,
    draining: () => draining,
  };
  return {
    context,
    setServices(s: DaemonServices | undefined) {
      services = s;
    },
    setDraining() {
      draining = true;
    },
  };
}
