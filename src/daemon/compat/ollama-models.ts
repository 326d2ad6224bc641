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

/** One entry of `/api/tags` (Ollama's ListModelResponse); Ollama's digests carry no `sha256:` prefix. */
export function toOllamaModelEntry(model: ModelSummary): ModelEntry {
  return {
    name: model.name,
    model: model.name,
    modified_at: model.modifiedAt,
    size: model.sizeBytes,
    digest: model.digest.replace(/^sha256:/, ""),
    details: toOllamaModelDetails(model),
  };
}

/** One entry of `/api/ps`: `size` is what the model takes loaded, not its file size. */
export function toOllamaRunningModel(loaded: LoadedModel): RunningModel {
  return {
    ...toOllamaModelEntry(loaded.model),
    size: loaded.memoryBytes,
    expires_at: loaded.expiresAt,
    size_vram: loaded.vramBytes,
    context_length: loaded.contextLength,
    active_requests: loaded.activeRequests,
    queued_requests: loaded.queuedRequests,
  };
}
