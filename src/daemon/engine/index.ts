/**
 * The local engine: node-llama-cpp behind the ModelService contract. `startLocalEngine` is what the daemon calls
 * at start-up: it makes sure the built-in model exists, then returns the service and its disposer.
 */
import os from "node:os";
import type { MlxmConfig } from "../../config/config.js";
import type { Logger } from "../../observability/logger.js";
import type { Metrics } from "../../observability/metrics.js";
import type { Store } from "../store/store.js";
import { ensureBuiltinModel } from "./builtin-model.js";
import { LocalModelService } from "./local-model-service.js";

export { BUILTIN_MODEL_NAME, BUILTIN_MODEL_OPTIONS, builtinModelPath, ensureBuiltinModel } from "./builtin-model.js";
export { GpuUnavailableError, type AcceleratorInfo } from "./accelerator.js";
export { InvalidModelError } from "./errors.js";
export { defaultThreadCount } from "./llama-runtime.js";
export { DEFAULT_MEMORY_SHARE, LocalModelService, type LocalModelServiceOptions } from "./local-model-service.js";
export { describeGgufModel, describeStoredModel } from "./model-info.js";
export { ModelPool, type ModelLoader, type PoolModel } from "./model-pool.js";

export interface StartLocalEngineOptions {
  store: Store;
  config: MlxmConfig;
  logger: Logger;
  metrics?: Metrics;
}

/** The built-in model, then the service. Dispose the service on shutdown (models and contexts, then llama.cpp). */
export async function startLocalEngine({ store, config, logger, metrics }: StartLocalEngineOptions): Promise<LocalModelService> {
  try {
    await ensureBuiltinModel(store, config.home, logger);
  } catch (err) {
    // Other models still work; a full disk should not keep the daemon from starting.
    logger.warn({ err }, "could not create the built-in model");
  }
  const service = new LocalModelService({
    store,
    engine: config.engine,
    logger,
    ...(metrics ? { metrics } : {}),
    recordContent: config.trace.recordContent,
    totalMemoryBytes: os.totalmem(),
  });
  logger.info(
    { threads: service.threads, maxMemoryBytes: service.maxMemoryBytes, numParallel: config.engine.numParallel, gpu: config.engine.gpu },
    "local engine ready",
  );
  const chosen = service.accelerator().then((info) => {
    const devices = info.devices.length ? ` (${info.devices.join(", ")})` : "";
    logger.info(
      {
        backend: info.backend,
        requested: info.requested,
        devices: info.devices,
        vramTotalBytes: info.vramTotalBytes,
        binary: info.binary,
        cpuFeatures: info.cpuFeatures,
      },
      `compute backend: ${info.backend}${devices}, ${info.binary === "local" ? "local build (mlxm engine build)" : "prebuilt"} llama.cpp binary`,
    );
  });
  if (config.engine.gpu === "auto" || config.engine.gpu === "off") {
    // Nothing to refuse: find out in the background (getLlama costs 1-2 s) so start-up stays fast.
    chosen.catch((err: unknown) => logger.warn({ err }, "the local engine could not start its llama.cpp binding"));
  } else {
    // A backend asked for by name must be there: a start-up error that says what is missing.
    try {
      await chosen;
    } catch (err) {
      await service.dispose();
      throw err;
    }
  }
  return service;
}
