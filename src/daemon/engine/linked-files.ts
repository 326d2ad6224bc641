/**
 * Linked imports (`mlxm import --link`) stay where the user keeps them, so they can change under mlxm. Their size and
 * mtime were recorded at import; a file that no longer matches is refused rather than served, because its content is
 * no longer the one that was hashed and validated.
 */
import fs from "node:fs/promises";
import { InvalidModelError } from "./errors.js";

/** A model file as the store lists it. */
export interface LinkedFileRecord {
  path: string;
  size_bytes: number;
  linked: number;
  mtime_ms: number | null;
}

/** Throws `InvalidModelError` when a linked file of `model` is gone or changed since it was imported. */
export async function checkLinkedFiles(model: string, files: readonly LinkedFileRecord[]): Promise<void> {
  for (const f of files) {
    if (!f.linked) continue;
    const st = await fs.stat(f.path).catch(() => undefined);
    const again = `; import it again with \`mlxm import ${f.path} --name ${model} --link\``;
    if (!st) throw new InvalidModelError(`the linked file of model "${model}" is missing: ${f.path}${again}`, undefined, f.path);
    if (st.size !== f.size_bytes || (f.mtime_ms !== null && Math.abs(st.mtimeMs - f.mtime_ms) >= 1)) {
      throw new InvalidModelError(`the linked file of model "${model}" changed since it was imported: ${f.path}${again}`, undefined, f.path);
    }
  }
}
