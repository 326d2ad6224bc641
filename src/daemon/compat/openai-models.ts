/** Local models in OpenAI's `/v1/models` shape. Pure translators. */
import type { Model } from "openai/resources/models";
import type { ModelRow } from "../store/repos/models-repo.js";

export function toOpenAIModel(row: Pick<ModelRow, "name" | "created_at">): Model {
  const created = Math.floor(new Date(row.created_at).getTime() / 1000);
  return { id: row.name, object: "model", created: Number.isFinite(created) ? created : 0, owned_by: "mlxm" };
}

export function toOpenAIModelList(rows: Pick<ModelRow, "name" | "created_at">[]): { object: "list"; data: Model[] } {
  return { object: "list", data: rows.map(toOpenAIModel) };
}
