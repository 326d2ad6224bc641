/** A pull's plan: resolving a reference to files at one commit, and reading a stored plan back. */
import { selectGguf } from "./gguf-selection.js";
import type { HubClient } from "../hf-client.js";
import { UpstreamError } from "../hub-errors.js";
import { modelName, type ModelRef } from "../model-ref.js";
import type { PlannedFile, PullPlan } from "./pull-types.js";

/** Resolve the reference against the Hub: repo info at the revision, file selection, and an access check. */
export async function planPull(hub: HubClient, ref: ModelRef, input: string, signal: AbortSignal): Promise<PullPlan> {
  const info = await hub.repoInfo(ref.repo, ref.revision, { signal });
  const selection = selectGguf(info.files, { quant: ref.quant, file: ref.file, repo: info.id });
  const files: PlannedFile[] = selection.candidate.files.map((f) => {
    if (!f.lfs?.sha256 && !f.blobId) {
      throw new UpstreamError(`the Hub published no digest for ${f.path}; it cannot be verified`, false, { file: f.path });
    }
    return {
      filename: f.path,
      size: f.size,
      ...(f.lfs?.sha256 ? { sha256: f.lfs.sha256 } : { gitSha1: f.blobId }),
      url: hub.fileUrl(info.id, info.sha, f.path),
    };
  });
  // Gated repos show their file list to anyone but refuse the download: find out now, before the first byte.
  await hub.fileMetadata(info.id, info.sha, files[0].filename, { signal });
  return {
    version: 1,
    name: modelName(info.id, selection.label),
    repo: info.id,
    revision: ref.revision,
    commit: info.sha,
    quant: selection.candidate.quant ?? null,
    reason: selection.reason,
    request: { ref: input, ...(ref.file ? { file: ref.file } : {}), revision: ref.revision },
    totalBytes: files.reduce((n, f) => n + f.size, 0),
    files,
  };
}

/** The plan stored in a `pulls` row, or undefined when it is missing or not a usable version-1 plan. */
export function parsePlan(json: string | null): PullPlan | undefined {
  if (!json) return undefined;
  try {
    const plan = JSON.parse(json) as PullPlan;
    return plan?.version === 1 && Array.isArray(plan.files) && plan.files.length > 0 ? plan : undefined;
  } catch {
    return undefined;
  }
}
