/** A stored model's details in Ollama's shape, for `/api/tags`, `/api/ps` and `/api/show` alike. */
import type { ModelDetails } from "../../protocol/native.js";
import type { ModelRow } from "../store/repos/models-repo.js";

export function toModelDetails(row: Pick<ModelRow, "format" | "family" | "parameter_size" | "quant">): ModelDetails {
  return {
    parent_model: "",
    format: row.format,
    family: row.family ?? "",
    families: row.family ? [row.family] : null,
    parameter_size: row.parameter_size ?? "",
    quantization_level: row.quant ?? "",
  };
}
