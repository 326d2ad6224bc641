/**
 * `mlxm search`: GGUF repositories on the Hub for a query, with the quantisations each offers and their sizes. The
 * Hub's model search (`GET /api/models?search=&filter=gguf&sort=…`) lists repos without file sizes, so each hit's
 * files are then read with the same repo-info call a pull uses (a few at a time) and grouped as a pull would group
 * them (split parts together, non-model GGUFs left out).
 *
 * Private repos the token can see are listed only when the caller brought the token (`includePrivate`, the CLI's
 * HF_TOKEN in `X-HF-Token`): the daemon's own token may belong to someone other than the caller (a daemon shared
 * through API keys), and its owner's private repos are not the caller's to see.
 */
import { z } from "zod";
import type { SearchResponse, SearchResult, SearchSort } from "../../protocol/library.js";
import { listGgufCandidates } from "../hub/pull/gguf-selection.js";
import type { HubClient } from "../hub/hf-client.js";
import { UpstreamError } from "../hub/hub-errors.js";
import { modelName } from "../hub/model-ref.js";

/** The Hub's sort keys for mlxm's sort names. */
const HUB_SORT: Record<SearchSort, string> = {
  downloads: "downloads",
  trending: "trendingScore",
  likes: "likes",
  updated: "lastModified",
};

const HubModel = z.object({
  id: z.string(),
  downloads: z.number().optional(),
  likes: z.number().optional(),
  lastModified: z.string().optional(),
  createdAt: z.string().optional(),
  gated: z.union([z.boolean(), z.string()]).optional(),
  private: z.boolean().optional(),
});
const HubModelList = z.array(HubModel);

/** Requests to the Hub at once when reading each hit's files. */
const DETAIL_CONCURRENCY = 4;

export async function searchHub(
  hub: HubClient,
  query: { q: string; limit: number; sort: SearchSort },
  signal?: AbortSignal,
  options: { includePrivate?: boolean } = {},
): Promise<SearchResponse> {
  const params = new URLSearchParams({
    search: query.q,
    filter: "gguf",
    sort: HUB_SORT[query.sort],
    direction: "-1",
    limit: String(query.limit),
  });
  const url = `${hub.endpoint}/api/models?${params}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: hub.headersFor(url), signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new UpstreamError(`cannot reach the Hub at ${hub.endpoint}: ${(err as Error).message}`, true);
  }
  if (!res.ok) throw hub.errorFromResponse(res, { repo: "search" });
  const parsed = HubModelList.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) throw new UpstreamError("the Hub's search answer was not a list of models", false);
  const hits = parsed.data.filter((m) => options.includePrivate || !m.private).slice(0, query.limit);

  const results: SearchResult[] = new Array(hits.length);
  let next = 0;
  const worker = async () => {
    while (next < hits.length) {
      const i = next++;
      results[i] = await describeHit(hub, hits[i]!, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DETAIL_CONCURRENCY, hits.length) }, worker));
  return { query: query.q, sort: query.sort, models: results.filter((r) => r.quantizations.length > 0 || r.gated) };
}

async function describeHit(hub: HubClient, hit: z.infer<typeof HubModel>, signal?: AbortSignal): Promise<SearchResult> {
  const base: Omit<SearchResult, "quantizations"> = {
    repo: hit.id,
    downloads: hit.downloads ?? 0,
    likes: hit.likes ?? 0,
    updated: hit.lastModified ?? hit.createdAt ?? null,
    gated: hit.gated !== undefined && hit.gated !== false,
    private: hit.private === true,
  };
  try {
    const info = await hub.repoInfo(hit.id, "main", { signal });
    const { candidates } = listGgufCandidates(info.files);
    const seen = new Set<string>();
    const quantizations = candidates.flatMap((c) => {
      const label = c.quant ?? c.name.replace(/\.gguf$/i, "").split("/").pop()!;
      if (seen.has(label.toUpperCase())) return [];
      seen.add(label.toUpperCase());
      return [{ quant: label, ref: modelName(info.id, label), size: c.size, files: c.files.length }];
    });
    return { ...base, quantizations };
  } catch (err) {
    if (signal?.aborted) throw err;
    // One repo that cannot be read (gated, removed since the search) does not spoil the others.
    return { ...base, quantizations: [] };
  }
}
