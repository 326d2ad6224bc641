/**
 * `mlxm create`'s request from its flags and an optional preset file (`-f`, the FROM/SYSTEM/PARAMETER part of an
 * Ollama Modelfile): flags win over the file.
 */
import { readFile } from "node:fs/promises";
import { MlxmError } from "../client/errors.js";
import type { CreateRequest, PresetParameters } from "../protocol/library.js";
import { parseModelfile } from "../protocol/modelfile.js";

export interface PresetFlags {
  from?: string;
  file?: string;
  system?: string;
  temperature?: number;
  "top-p"?: number;
  "top-k"?: number;
  ctx?: number;
  "num-predict"?: number;
  seed?: number;
  stop?: string[];
}

/** Thrown for a preset file that cannot be read or parsed: a usage error. */
export class PresetFileError extends MlxmError {
  constructor(message: string) {
    super(message, "bad_request");
    this.name = "PresetFileError";
  }
}

export async function createRequestFromFlags(name: string, flags: PresetFlags): Promise<CreateRequest> {
  let fromFile: ReturnType<typeof parseModelfile> = { parameters: {} };
  if (flags.file) {
    let text: string;
    try {
      text = await readFile(flags.file, "utf8");
    } catch (err) {
      throw new PresetFileError(`cannot read ${flags.file}: ${(err as Error).message}`);
    }
    try {
      fromFile = parseModelfile(text);
    } catch (err) {
      throw new PresetFileError(`${flags.file}: ${(err as Error).message}`);
    }
  }
  const parameters: PresetParameters = { ...fromFile.parameters };
  const set = <K extends keyof PresetParameters>(key: K, value: PresetParameters[K] | undefined) => {
    if (value !== undefined) parameters[key] = value;
  };
  set("temperature", flags.temperature);
  set("top_p", flags["top-p"]);
  set("top_k", flags["top-k"]);
  set("num_ctx", flags.ctx);
  set("num_predict", flags["num-predict"]);
  set("seed", flags.seed);
  if (flags.stop?.length) parameters.stop = flags.stop;
  const from = flags.from ?? fromFile.from;
  if (!from) throw new PresetFileError("--from is required (or a FROM line in the preset file)");
  const system = flags.system ?? fromFile.system;
  return { model: name, from, ...(system !== undefined ? { system } : {}), parameters };
}
