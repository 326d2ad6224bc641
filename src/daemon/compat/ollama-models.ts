/** The model service's lists in Ollama's shapes (`/api/tags`, `/api/ps`). Pure translators. */
import type { ModelDetails, ModelEntry, RunningModel } from "../../protocol/native.js";
import type { LoadedModel, ModelSummary } from "../core/model-service.js";

/** A model's details in Ollama's shape, for `/api/tags` and `/api/ps` alike. */
export function toOllamaModelDetails(model: ModelSummary): ModelDetails {
  return {
    parent_model: "",
    format: model.format,
    family: model.family ?? "",
    families: model.family ? [model.family] : null,
    parameter_size: model.parameterSize ?? "",
    quantization_level: model.quantization ?? "",
  };
}

/**
 * One entry of `/api/tags` (Ollama's ListModelResponse); Ollama's digests carry no `sha256:` prefix. A routed name
 * is marked by `remote_model`/`remote_host`, as Ollama marks its cloud models.
 */
export function toOllamaModelEntry(model: ModelSummary): ModelEntry {
  return {
    name: model.name,
    model: model.name,
    modified_at: model.modifiedAt,
    size: model.sizeBytes,
    digest: model.digest.replace(/^sha256:/, ""),
    details: toOllamaModelDetails(model),
    ...(model.remote ? { remote_model: model.remote.upstreamModel, remote_host: model.remote.host } : {}),
  };
}

/** One entry of `/api/ps`: `size` is the whole loaded footprint (not the file size), `size_vram` its GPU part. */
export function toOllamaRunningModel(loaded: LoadedModel): RunningModel {
  const { backend, gpuLayers, totalLayers } = loaded.offload;
  return {
    ...toOllamaModelEntry(loaded.model),
    size: loaded.memoryBytes + loaded.vramBytes,
    expires_at: loaded.expiresAt,
    size_vram: loaded.vramBytes,
    context_length: loaded.contextLength,
    offload: { backend, gpu_layers: gpuLayers, total_layers: totalLayers },
    active_requests: loaded.activeRequests,
    queued_requests: loaded.queuedRequests,
  };
}
