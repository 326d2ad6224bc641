/**
 * Hugging Face model references. Accepted forms:
 *   hf.co/<org>/<repo>[:<quant>]             (Ollama's form)
 *   huggingface.co/<org>/<repo>[:<quant>]    (with or without https://)
 *   <org>/<repo>[:<quant>]
 *   https://huggingface.co/<org>/<repo>/blob/<revision>/<file>   (a pasted file URL; also /resolve/)
 * plus the options `file` (exact filename in the repo) and `revision` (branch, tag or commit sha; default "main").
 * The store names a pulled model `hf.co/<org>/<repo>:<QUANT>`.
 */
import { InvalidModelRefError } from "./hub-errors.js";

/** A parsed reference. */
export interface ModelRef {
  /** `org/repo`, case as typed (the Hub resolves ids case-insensitively; the canonical case comes from repo info). */
  repo: string;
  /** Requested quantisation label, upper-cased; undefined lets selection choose (`:latest` means the same). */
  quant?: string;
  /** Exact file path inside the repo, when the caller named one. */
  file?: string;
  /** Branch, tag or commit sha. */
  revision: string;
}

/** Options that travel beside the reference string (`mlxm pull <ref> --file x --revision y`). */
export interface ModelRefOptions {
  file?: string;
  revision?: string;
}

/** The revision pulled when none is given. */
export const DEFAULT_REVISION = "main";

const HOST_PREFIX = /^(?:https?:\/\/)?(?:www\.)?(?:hf\.co|huggingface\.co)\//i;
// The Hub's own rule (huggingface_hub validate_repo_id): word characters, '-' and '.', at most 96, not starting or
// ending with '-' or '.', and never '--' or '..'.
const REPO_SEGMENT = /^(?![-.])[\w.-]{1,96}(?<![-.])$/;
const QUANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const REVISION = /^[\w.\-/]{1,255}$/;

/** Parse a reference; throws InvalidModelRefError (code bad_request) when it is not a Hub reference. */
export function parseModelRef(input: string, options: ModelRefOptions = {}): ModelRef {
  const raw = input.trim();
  if (!raw) throw new InvalidModelRefError("empty model reference");
  let rest = raw.replace(HOST_PREFIX, "");
  let file = options.file?.trim() || undefined;
  let revision = options.revision?.trim() || undefined;

  // A pasted browser URL: org/repo/blob/<rev>/<path> or org/repo/resolve/<rev>/<path>.
  const url = /^([^/:]+\/[^/:]+)\/(?:blob|resolve)\/([^/]+)\/(.+)$/.exec(rest);
  if (url) {
    rest = url[1];
    revision ??= decodeURIComponent(url[2]);
    file ??= decodeURIComponent(url[3].split(/[?#]/)[0]);
  }

  let quant: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    quant = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!QUANT.test(quant)) throw new InvalidModelRefError(`invalid quantisation tag "${quant}" in "${raw}"`, { ref: raw });
    quant = quant.toUpperCase();
    if (quant === "LATEST") quant = undefined;
  }

  const segments = rest.split("/");
  if (segments.length !== 2) {
    throw new InvalidModelRefError(
      `"${raw}" is not a Hugging Face reference: expected hf.co/<org>/<repo>[:<quant>] or <org>/<repo>[:<quant>]`,
      { ref: raw },
    );
  }
  for (const s of segments) {
    if (!REPO_SEGMENT.test(s) || s.includes("--") || s.includes("..") || s.endsWith(".git")) {
      throw new InvalidModelRefError(`invalid repository id "${rest}" in "${raw}"`, { ref: raw });
    }
  }

  if (file !== undefined) {
    const parts = file.split("/");
    if (file.startsWith("/") || file.includes("\\") || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new InvalidModelRefError(`invalid file name "${file}"`, { file });
    }
  }
  revision ??= DEFAULT_REVISION;
  if (!REVISION.test(revision) || revision.includes("..")) {
    throw new InvalidModelRefError(`invalid revision "${revision}"`, { revision });
  }
  return { repo: rest, quant, file, revision };
}

/** True when `input` looks like a Hub reference rather than a local model name (it has an org/repo part). */
export function looksLikeHubRef(input: string): boolean {
  try {
    parseModelRef(input);
    return true;
  } catch {
    return false;
  }
}

/** The store's name for a pulled model: `hf.co/<org>/<repo>:<QUANT>`. */
export function modelName(repo: string, label: string): string {
  return `hf.co/${repo}:${label.toUpperCase()}`;
}

/**
 * A key identifying "the same request", used to attach a second caller to a running pull. The repo is lower-cased
 * because the Hub treats ids case-insensitively.
 */
export function requestKey(ref: ModelRef): string {
  return `hf.co/${ref.repo.toLowerCase()}:${ref.quant ?? ""}|file=${ref.file ?? ""}|rev=${ref.revision}`;
}
