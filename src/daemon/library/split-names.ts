/**
 * Names of GGUF files on disk: the parts of a split model (`name-00001-of-00003.gguf`, as llama.cpp's gguf-split
 * writes them) and the local name an imported file gets by default. Pure.
 */
import path from "node:path";

const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** Where a file sits in a split set, or undefined for a one-file model. */
export function splitPosition(filename: string): { prefix: string; index: number; count: number } | undefined {
  const m = SPLIT.exec(path.basename(filename));
  if (!m) return undefined;
  return { prefix: m[1]!, index: Number(m[2]), count: Number(m[3]) };
}

/** Every part of the split set `file` belongs to, in order (same directory); `[file]` when it is not split. */
export function splitPartPaths(file: string): string[] {
  const pos = splitPosition(file);
  if (!pos || pos.count < 1) return [file];
  const dir = path.dirname(file);
  const ext = path.extname(file);
  const pad = (n: number) => String(n).padStart(5, "0");
  return Array.from({ length: pos.count }, (_, i) => path.join(dir, `${pos.prefix}-${pad(i + 1)}-of-${pad(pos.count)}${ext}`));
}

/** The default local name of an imported file: its name without `.gguf` and without a split suffix. */
export function defaultModelName(file: string): string {
  const base = path.basename(file);
  const pos = splitPosition(base);
  const stem = pos ? pos.prefix : base.replace(/\.gguf$/i, "");
  return stem.replace(/[^A-Za-z0-9._:/-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "imported";
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/**
 * A name a new local model may take: letters, digits and `. _ : / -`, starting with a letter or digit, at most 256
 * characters. A `:latest` tag is dropped, as lookups treat `name` and `name:latest` as one. Returns undefined when
 * the name is not allowed.
 */
export function normaliseModelName(name: string): string | undefined {
  const trimmed = name.trim().replace(/:latest$/, "");
  if (trimmed.length === 0 || trimmed.length > 256 || !NAME.test(trimmed) || trimmed.includes("..")) return undefined;
  return trimmed;
}
