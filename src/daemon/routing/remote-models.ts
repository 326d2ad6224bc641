/** Routed names in the shapes model lists use: Ollama's `/api/tags` entry (with its cloud-model fields) and OpenAI's model object. Pure. */
import type { Model } from "openai/resources/models";
import type { ModelEntry } from "../../protocol/native.js";
import type { RemoteModel } from "./router.js";

/** Marked remote by `remote_model`/`remote_host`, as Ollama marks its cloud models; size 0, nothing on disk. */
export function toRemoteModelEntry(m: RemoteModel): ModelEntry {
  return {
    name: m.name,
    model: m.name,
    modified_at: m.createdAt,
    size: 0,
    digest: "",
    details: { parent_model: "", format: "remote", family: m.provider, families: null, parameter_size: "", quantization_level: "" },
    remote_model: m.upstreamModel,
    remote_host: m.baseUrl ?? m.provider,
  };
}

/** `owned_by` names the provider, so OpenAI clients see which names are served elsewhere. */
export function toRemoteOpenAIModel(m: RemoteModel): Model {
  const created = Math.floor(new Date(m.createdAt).getTime() / 1000);
  return { id: m.name, object: "model", created: Number.isFinite(created) ? created : 0, owned_by: m.provider };
}
