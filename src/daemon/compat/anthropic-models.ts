/**
 * The model service's list in Anthropic's `/v1/models` shape, for callers that speak Anthropic's API (its SDKs send
 * `anthropic-version` on every request): `{data: [{type, id, display_name, created_at}], has_more, first_id,
 * last_id}`, paged by `limit` (default 20, at most 1000), `after_id` and `before_id` as Anthropic pages it. Pure.
 */
import type { ModelSummary } from "../core/model-service.js";
import { badRequest } from "../errors.js";

export interface AnthropicModel {
  type: "model";
  id: string;
  display_name: string;
  /** RFC 3339; the epoch when the time is unknown. */
  created_at: string;
}

export interface AnthropicModelPage {
  data: AnthropicModel[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

type Listed = Pick<ModelSummary, "name" | "createdAt">;

export function toAnthropicModel(model: Listed): AnthropicModel {
  const created = new Date(model.createdAt);
  return { type: "model", id: model.name, display_name: model.name, created_at: (Number.isFinite(created.getTime()) ? created : new Date(0)).toISOString() };
}

/** One page of `models` (in the service's order) for the query's `limit`, `after_id` and `before_id`. */
export function toAnthropicModelPage(models: Listed[], query: Record<string, unknown>): AnthropicModelPage {
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest("limit: must be an integer from 1 to 1000", "limit");
  const ids = models.map((m) => m.name);
  let start = 0;
  let end = models.length;
  if (typeof query.after_id === "string") start = ids.indexOf(query.after_id) + 1;
  if (typeof query.before_id === "string") end = Math.max(ids.indexOf(query.before_id), 0);
  // before_id pages backwards: the `limit` models just before it.
  const page = typeof query.before_id === "string" ? models.slice(Math.max(start, end - limit), end) : models.slice(start, Math.min(end, start + limit));
  const data = page.map(toAnthropicModel);
  const more = typeof query.before_id === "string" ? end - limit > start : start + limit < end;
  return { data, has_more: more, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
