/**
 * One `mlxm import` in the terminal: follow the daemon's progress (hashing a multi-GB file takes a while) as a bar on
 * a terminal, plain lines in a log, NDJSON with --json. The import belongs to the request, so Ctrl-C (which ends the
 * CLI and its connection) cancels it and the daemon leaves nothing behind.
 */
import path from "node:path";
import type { MlxmClient } from "../client/mlxm-client.js";
import type { ImportMode } from "../protocol/library.js";
import { createProgressView } from "./pull-progress.js";

export interface ImportOutcome {
  name: string;
  path: string;
  mode: ImportMode;
  status: "success";
}

export async function runImport(
  client: MlxmClient,
  file: string,
  options: { name?: string; mode: ImportMode; json: boolean; log: (line: string) => void },
): Promise<ImportOutcome> {
  const absolute = path.resolve(file);
  const view = createProgressView(process.stderr.isTTY ? "tty" : "plain", options.log);
  let name: string | undefined;
  try {
    for await (const p of client.importModel(absolute, { name: options.name, mode: options.mode })) {
      if (p.name) name = p.name;
      if (options.json) options.log(JSON.stringify(p));
      // The progress views key bars by `digest`; an import's key is the file being hashed.
      else view.update({ status: p.status, ...(p.file ? { digest: p.file } : {}), total: p.total, completed: p.completed });
    }
  } finally {
    view.stop();
  }
  return { name: name ?? options.name ?? path.basename(absolute), path: absolute, mode: options.mode, status: "success" };
}
