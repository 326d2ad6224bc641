/**
 * The model library: what `mlxm import`, `mlxm create`, `mlxm cp` and `mlxm search` ask of the daemon. Presets and
 * aliases are model rows that share their base model's blobs (so removing one name never removes files another
 * uses) and carry their own defaults; imports come from local files; search asks the Hub.
 */
import type { SearchResponse, SearchSort } from "../../protocol/library.js";
import { mergePresets, type CreateIntent } from "../compat/ollama-create.js";
import { isEmptyPreset, parsePreset } from "../core/preset.js";
import { badRequest } from "../errors.js";
import { deleteReplacedBlobs } from "../engine/model-deletion.js";
import { findModelRow } from "../engine/model-spec.js";
import type { HubClient } from "../hub/hf-client.js";
import type { ModelRow } from "../store/repos/models-repo.js";
import type { Store } from "../store/store.js";
import { importGguf, type GgufImportDeps, type ImportOptions } from "./gguf-import.js";
import { searchHub } from "./hub-search.js";
import { normaliseModelName } from "./split-names.js";

export interface ModelLibraryDeps extends Omit<GgufImportDeps, "models"> {
  store: Store;
  hub: HubClient;
  /** Unload a model that was replaced, so its next request sees the new defaults (context size above all). */
  unload: (name: string) => Promise<unknown>;
}

/** See the module comment. */
export class ModelLibrary {
  constructor(private readonly deps: ModelLibraryDeps) {}

  /** A preset: `intent.name` made from `intent.from` with defaults over the base's own. Replaces an existing name. */
  async create(intent: Pick<CreateIntent, "name" | "from" | "preset">): Promise<ModelRow> {
    const name = this.#name(intent.name, "model");
    const base = await findModelRow(this.deps.store, intent.from);
    const preset = mergePresets(parsePreset(base.preset_json), intent.preset);
    const row = await this.#copy(base.name, name, {
      parent: base.name,
      preset_json: isEmptyPreset(preset) ? null : JSON.stringify(preset),
    });
    return row;
  }

  /** An alias (Ollama's copy): `destination` names the same files and defaults as `source`. */
  async copy(source: string, destination: string): Promise<ModelRow> {
    const name = this.#name(destination, "destination");
    const base = await findModelRow(this.deps.store, source);
    return this.#copy(base.name, name, { parent: base.name });
  }

  /** Import a GGUF from disk (see gguf-import.ts). */
  import(options: ImportOptions): Promise<ModelRow> {
    return importGguf({ ...this.deps, models: this.deps.store.models }, options);
  }

  /** Search the Hub; with `hubToken` (the caller's own), as the caller, private repos included (hub-search.ts). */
  search(query: { q: string; limit: number; sort: SearchSort }, signal?: AbortSignal, hubToken?: string): Promise<SearchResponse> {
    return searchHub(this.deps.hub.forCaller(hubToken), query, signal, { includePrivate: hubToken !== undefined });
  }

  async #copy(source: string, destination: string, changes: { parent: string; preset_json?: string | null }): Promise<ModelRow> {
    const replaced = destination !== source && (await this.deps.store.models.findByName(destination)) !== undefined;
    const row = await this.deps.store.models.copy(source, destination, changes);
    // findModelRow just found it; only a concurrent delete gets here.
    if (!row) throw badRequest(`model "${source}" was removed meanwhile`, "from");
    if (replaced || destination === source) await this.deps.unload(destination).catch(() => undefined);
    // The name it replaced may have had files of its own that nothing uses now.
    if (replaced) await deleteReplacedBlobs(this.deps.store.models);
    return row;
  }

  #name(name: string, param: string): string {
    const normalised = normaliseModelName(name);
    if (!normalised) throw badRequest(`"${name}" is not a valid model name (letters, digits and . _ : / -)`, param);
    return normalised;
  }
}
