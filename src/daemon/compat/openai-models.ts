/** The model service's list in OpenAI's `/v1/models` shape. Pure translators. */
import type { Model } from "openai/resources/models";
import type { ModelSummary } from "../core/model-service.js";

/** One model; `created` is in seconds, 0 when the time is unknown; `owned_by` names the provider of a routed name. */
export function toOpenAIModel(model: Pick<ModelSummary, "name" | "createdAt" | "remote">): Model {
  const created = Math.floor(new Date(model.createdAt).getTime() / 1000);
  return { id: model.name, object: "model", created: Number.isFinite(created) ? created : 0, owned_by: model.remote?.provider ?? "mlxm" };
}

/** The `/v1/models` list. */
export function toOpenAIModelList(models: Pick<ModelSummary, "name" | "createdAt" | "remote">[]): { object: "list"; data: Model[] } {
  return { object: "list", data: models.map(toOpenAIModel) };
}
