/**
 * Ollama's `/api/create` and `/api/copy` requests in mlxm's terms: a preset (name, base model, system prompt and
 * parameters) and a copy. What needs a model build (files, adapters, quantize, template, messages) is refused with a
 * 400 naming the field, so an Ollama client learns at once what mlxm does not do. Pure.
 */
import { CopyRequest, CreateRequest, type ModelPreset } from "../../protocol/library.js";
import { parseModelfile } from "../../protocol/modelfile.js";
import { badRequest } from "../errors.js";
import { parseBody } from "./parse.js";

/** A preset to create: `name` made from `from`, with these defaults. */
export interface CreateIntent {
  name: string;
  from: string;
  preset: ModelPreset;
  stream: boolean;
}

const UNSUPPORTED = ["files", "adapters", "quantize", "template", "messages", "license"] as const;

export function fromOllamaCreateRequest(body: unknown): CreateIntent {
  const b = parseBody(CreateRequest, withoutNulls(body));
  const name = b.model ?? b.name;
  if (!name) throw badRequest("model is required", "model");
  for (const field of UNSUPPORTED) {
    if (b[field] !== undefined) {
      throw badRequest(`mlxm creates presets of existing models only; "${field}" is not supported (use \`mlxm import\` for a GGUF file)`, field);
    }
  }
  let from = b.from;
  let system = b.system;
  let parameters = b.parameters ?? {};
  if (b.modelfile !== undefined) {
    // Older Ollama clients send the Modelfile text itself.
    let parsed;
    try {
      parsed = parseModelfile(b.modelfile);
    } catch (err) {
      throw badRequest((err as Error).message, "modelfile");
    }
    from ??= parsed.from;
    system ??= parsed.system;
    parameters = { ...parsed.parameters, ...parameters };
  }
  if (!from) throw badRequest("from is required: the existing model this one is made from", "from");
  return {
    name,
    from,
    preset: { ...(system !== undefined ? { system } : {}), parameters },
    stream: b.stream ?? true,
  };
}

/**
 * A field (or a parameter) set to `null` counts as unset, as Go's JSON decoding makes it in Ollama: the JS client
 * passes the caller's object on as is, nulls included.
 */
function withoutNulls(body: unknown): unknown {
  const drop = (value: unknown): unknown =>
    value !== null && typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) : value;
  const top = drop(body);
  return top !== null && typeof top === "object" && "parameters" in top ? { ...top, parameters: drop(top.parameters) } : top;
}

export function fromOllamaCopyRequest(body: unknown): CopyRequest {
  return parseBody(CopyRequest, body);
}

/** A preset over another: the newer one's system prompt and parameters win, the rest is inherited. */
export function mergePresets(base: ModelPreset | undefined, over: ModelPreset): ModelPreset {
  const system = over.system ?? base?.system;
  return { ...(system !== undefined ? { system } : {}), parameters: { ...base?.parameters, ...over.parameters } };
}
