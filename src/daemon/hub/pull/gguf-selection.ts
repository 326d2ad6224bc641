/**
 * Which GGUF file(s) of a repository to pull. Split GGUFs (`name-00001-of-00003.gguf`) are one logical file; the
 * quantisation label (Q4_K_M, IQ4_XS, BF16, UD-Q4_K_XL, ...) comes from the file name. With no quantisation asked
 * for, Q4_K_M is chosen, else the nearest by QUANT_PREFERENCE, and the selection says which and why.
 */
import type { RepoFile } from "../hf-client.js";
import { GgufSelectionError } from "../hub-errors.js";

/** One logical GGUF: a single file or every part of a split one, in part order. */
export interface GgufCandidate {
  /** Upper-case quantisation label from the name, or undefined when the name carries none. */
  quant?: string;
  /** The file's path, or the first part's path for split files. */
  name: string;
  files: RepoFile[];
  size: number;
  split: boolean;
}

/** The result of selection. */
export interface GgufSelection {
  /** Label used in the model name: the quant, or the file stem when the name has no quant. */
  label: string;
  candidate: GgufCandidate;
  /** Human-readable explanation, e.g. "Q4_K_M is the default quantisation". */
  reason: string;
  /** Every quant label the repo offers, in preference order. */
  available: string[];
}

/** What the caller asked for. */
export interface GgufRequest {
  quant?: string;
  file?: string;
  /** For messages only. */
  repo?: string;
}

/**
 * Default preference when no quantisation is requested: Q4_K_M (the usual quality/size sweet spot, Ollama's and
 * LM Studio's default too), then other ~4-bit files, then 5-bit (a little bigger, better), 6-bit, 3-bit (smaller,
 * worse), 8-bit, 2-bit, 16/32-bit (huge), and 1-bit last. `UD-` (Unsloth dynamic) variants rank just after their base.
 */
export const QUANT_PREFERENCE: readonly string[] = [
  "Q4_K_M", "Q4_K_S", "Q4_K_L", "Q4_K_XL", "IQ4_XS", "IQ4_NL", "Q4_0", "Q4_1", "MXFP4", "MXFP4_MOE",
  "Q5_K_M", "Q5_K_S", "Q5_K_L", "Q5_K_XL", "Q5_0", "Q5_1",
  "Q6_K", "Q6_K_L", "Q6_K_XL",
  "Q3_K_L", "Q3_K_M", "Q3_K_XL", "IQ3_M", "IQ3_S", "Q3_K_S", "IQ3_XS", "IQ3_XXS",
  "Q8_0", "Q8_K_XL",
  "Q2_K_L", "Q2_K_XL", "Q2_K", "IQ2_M", "IQ2_S", "Q2_K_S", "IQ2_XS", "IQ2_XXS",
  "BF16", "F16", "FP16", "F32", "FP32",
  "IQ1_M", "IQ1_S", "TQ2_0", "TQ1_0",
];

const DEFAULT_QUANT = "Q4_K_M";
const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;
const QUANT_IN_NAME =
  /(?:^|[-._])((?:UD-)?(?:I?Q[1-8](?:_[A-Z0-9]+)*|BF16|FP16|FP32|F16|F32|TQ[12]_0|MXFP4(?:_MOE)?))(?=$|[-.])/gi;
// Files that are GGUF but not a language model: vision projectors, importance matrices, tokenizer-only files.
const NOT_A_MODEL = /(^|[-._/])(mmproj|imatrix)|(^|\/)ggml-vocab-/i;

/** The quantisation label in a GGUF file name (the last one, upper-cased), or undefined. */
export function extractQuant(filename: string): string | undefined {
  const base = filename.split("/").pop() ?? filename;
  const stem = base.replace(SPLIT, "$1").replace(/\.gguf$/i, "");
  let last: string | undefined;
  for (const m of stem.matchAll(QUANT_IN_NAME)) last = m[1];
  return last?.toUpperCase();
}

/** Rank in QUANT_PREFERENCE (lower is preferred); unknown labels after known ones, no label last. */
export function quantRank(quant: string | undefined): number {
  if (!quant) return 10_000;
  const base = quant.replace(/^UD-/, "");
  const i = QUANT_PREFERENCE.indexOf(base);
  if (i < 0) return 5_000;
  return i + (base === quant ? 0 : 0.5);
}

/** Group a repository's GGUF files into logical models. Incomplete split sets and non-model GGUFs are set aside. */
export function listGgufCandidates(files: RepoFile[]): {
  candidates: GgufCandidate[];
  /** Split sets with missing parts (first part's name, or the prefix). */
  incomplete: string[];
  /** GGUFs that are not models (mmproj, imatrix, vocab-only). */
  excluded: string[];
} {
  const candidates: GgufCandidate[] = [];
  const incomplete: string[] = [];
  const excluded: string[] = [];
  const splits = new Map<string, { total: number; parts: Map<number, RepoFile> }>();
  for (const f of files) {
    if (!/\.gguf$/i.test(f.path)) continue;
    if (NOT_A_MODEL.test(f.path)) {
      excluded.push(f.path);
      continue;
    }
    const m = SPLIT.exec(f.path);
    if (!m) {
      candidates.push({ quant: extractQuant(f.path), name: f.path, files: [f], size: f.size, split: false });
      continue;
    }
    const total = Number(m[3]);
    const key = `${m[1]}|${total}`;
    const group = splits.get(key) ?? { total, parts: new Map() };
    group.parts.set(Number(m[2]), f);
    splits.set(key, group);
  }
  for (const [key, group] of splits) {
    const parts: RepoFile[] = [];
    for (let i = 1; i <= group.total; i++) {
      const p = group.parts.get(i);
      if (p) parts.push(p);
    }
    if (parts.length !== group.total || group.total === 0) {
      incomplete.push(group.parts.get(1)?.path ?? key.split("|")[0]);
      continue;
    }
    candidates.push({
      quant: extractQuant(parts[0].path),
      name: parts[0].path,
      files: parts,
      size: parts.reduce((n, p) => n + p.size, 0),
      split: true,
    });
  }
  candidates.sort((a, b) => quantRank(a.quant) - quantRank(b.quant) || a.name.localeCompare(b.name));
  return { candidates, incomplete, excluded };
}

/** Pick the logical GGUF for a request. Throws GgufSelectionError with `details.available` when it cannot. */
export function selectGguf(files: RepoFile[], request: GgufRequest = {}): GgufSelection {
  const repo = request.repo ?? "the repository";
  const { candidates, incomplete } = listGgufCandidates(files);
  const available = [...new Set(candidates.map((c) => c.quant).filter((q): q is string => !!q))];
  const details = (extra: Record<string, unknown>) => ({
    repo: request.repo,
    available,
    files: candidates.map((c) => c.name),
    ...(incomplete.length ? { incomplete } : {}),
    ...extra,
  });

  if (request.file) {
    const wanted = request.file;
    const ggufs = files.filter((f) => /\.gguf$/i.test(f.path));
    let file = files.find((f) => f.path === wanted);
    if (!file) {
      const ci = files.filter((f) => f.path.toLowerCase() === wanted.toLowerCase());
      if (ci.length === 1) file = ci[0];
    }
    if (!file) {
      throw new GgufSelectionError(
        `file ${wanted} is not in ${repo}; GGUF files: ${ggufs.map((f) => f.path).join(", ") || "none"}`,
        "not_found",
        details({ reason: "file_not_found", file: wanted }),
      );
    }
    if (!/\.gguf$/i.test(file.path)) {
      throw new GgufSelectionError(`${file.path} is not a GGUF file`, "bad_request", details({ reason: "not_gguf", file: file.path }));
    }
    const candidate =
      candidates.find((c) => c.files.some((f) => f.path === file!.path)) ??
      ({ quant: extractQuant(file.path), name: file.path, files: [file], size: file.size, split: false } as GgufCandidate);
    if (SPLIT.test(file.path) && !candidate.split) {
      throw new GgufSelectionError(`${file.path} is part of a split GGUF with missing parts`, "not_found",
        details({ reason: "incomplete_split", file: file.path }));
    }
    if (request.quant && candidate.quant && !sameQuant(candidate.quant, request.quant)) {
      throw new GgufSelectionError(
        `file ${file.path} is ${candidate.quant}, but the reference asks for ${request.quant}`,
        "bad_request",
        details({ reason: "quant_file_conflict", file: file.path }),
      );
    }
    return {
      label: candidate.quant ?? stemOf(candidate.name),
      candidate,
      reason: candidate.split ? `file ${file.path} (all ${candidate.files.length} parts)` : `file ${file.path} as requested`,
      available,
    };
  }

  if (candidates.length === 0) {
    throw new GgufSelectionError(
      `${repo} has no GGUF model files${incomplete.length ? ` (incomplete split sets: ${incomplete.join(", ")})` : ""}; ` +
        "mlxm pulls GGUF models: look for a repository with GGUF in its name",
      "not_found",
      details({ reason: "no_gguf" }),
    );
  }

  if (request.quant) {
    let matches = candidates.filter((c) => c.quant === request.quant);
    if (matches.length === 0) matches = candidates.filter((c) => c.quant && sameQuant(c.quant, request.quant!));
    if (matches.length === 0) {
      throw new GgufSelectionError(
        `no ${request.quant} GGUF in ${repo}; available: ${available.join(", ") || "(no quantisation labels)"}`,
        "not_found",
        details({ reason: "quant_not_found", quant: request.quant }),
      );
    }
    if (matches.length > 1) throw ambiguous(request.quant, matches, repo, details);
    return { label: matches[0].quant!, candidate: matches[0], reason: `${matches[0].quant} as requested`, available };
  }

  if (candidates.length === 1) {
    const only = candidates[0];
    return { label: only.quant ?? stemOf(only.name), candidate: only, reason: "the only GGUF model in the repository", available };
  }
  const best = candidates[0];
  const tied = candidates.filter((c) => c.quant === best.quant);
  if (tied.length > 1 || !best.quant) throw ambiguous(best.quant ?? "(unlabelled)", tied.length > 1 ? tied : candidates, repo, details);
  const reason =
    best.quant === DEFAULT_QUANT
      ? `${DEFAULT_QUANT} is the default quantisation`
      : `no ${DEFAULT_QUANT} in the repository; ${best.quant} is the nearest by mlxm's preference order ` +
        `(${QUANT_PREFERENCE.slice(0, 6).join(" > ")} > ...)`;
  return { label: best.quant, candidate: best, reason, available };
}

function ambiguous(
  quant: string,
  matches: GgufCandidate[],
  repo: string,
  details: (extra: Record<string, unknown>) => Record<string, unknown>,
): GgufSelectionError {
  const choices = matches.map((c) => c.name);
  return new GgufSelectionError(
    `${quant} is ambiguous in ${repo}: ${choices.join(", ")}; choose one with the file option`,
    "bad_request",
    details({ reason: "ambiguous_quant", quant, choices }),
  );
}

function sameQuant(a: string, b: string): boolean {
  return a.toUpperCase().replace(/^UD-/, "") === b.toUpperCase().replace(/^UD-/, "");
}

function stemOf(path: string): string {
  return (path.split("/").pop() ?? path).replace(SPLIT, "$1").replace(/\.gguf$/i, "");
}
