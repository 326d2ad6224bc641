/** `mlxm search` for people: one block per repo, its quantisations as pull references with sizes. */
import type { SearchResponse } from "../protocol/library.js";
import { formatBytes } from "./render.js";

export function renderSearchResults(res: SearchResponse): string {
  if (res.models.length === 0) return `no GGUF models on the Hub match "${res.query}"`;
  const blocks = res.models.map((m) => {
    const notes = [
      `${m.downloads.toLocaleString("en-US")} downloads`,
      `${m.likes} likes`,
      ...(m.private ? ["private"] : []),
      ...(m.gated ? ["gated: accept its terms on the Hub and set HF_TOKEN"] : []),
    ];
    const head = `${m.repo}  (${notes.join(", ")})`;
    const width = Math.max(0, ...m.quantizations.map((q) => q.ref.length));
    const rows = m.quantizations.map(
      (q) => `    mlxm pull ${q.ref.padEnd(width)}  ${formatBytes(q.size).padStart(9)}${q.files > 1 ? `  (${q.files} files)` : ""}`,
    );
    return [head, ...(rows.length ? rows : ["    (file list not readable)"])].join("\n");
  });
  return blocks.join("\n\n");
}
