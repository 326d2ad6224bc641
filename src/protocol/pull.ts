/** `/api/pull` and `/api/delete` in Ollama's shapes, with mlxm's extras (file, revision, cancel). */
import { z } from "zod";

/**
 * The header a pull or a search carries its caller's Hugging Face token in (mlxm's; the CLI sends its HF_TOKEN to a
 * daemon on this machine): the daemon asks the Hub as the caller instead of with its own HF_TOKEN.
 */
export const HUB_TOKEN_HEADER = "x-hf-token";

export const PullRequest = z
  .object({
    /** `hf.co/<org>/<repo>:<quant>` or `<org>/<repo>[:<quant>]`; Ollama clients send `model` (older ones `name`). */
    model: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    /** An exact GGUF file in the repo. */
    file: z.string().min(1).optional(),
    /** Branch, tag or commit sha (default main). */
    revision: z.string().min(1).optional(),
    /** Stream NDJSON progress (default true, as Ollama). */
    stream: z.boolean().optional(),
    insecure: z.boolean().optional(),
  })
  .refine((r) => r.model ?? r.name, { message: "model is required", path: ["model"] });
export type PullRequest = z.infer<typeof PullRequest>;

/** One NDJSON progress line (Ollama's ProgressResponse; `name`/`reason` are mlxm's, on the "selected" line). */
export const PullProgress = z.object({
  status: z.string(),
  digest: z.string().optional(),
  total: z.number().optional(),
  completed: z.number().optional(),
  name: z.string().optional(),
  reason: z.string().optional(),
});
export type PullProgress = z.infer<typeof PullProgress>;

export const CancelPullRequest = z.object({
  model: z.string().min(1),
  /** Also delete the partial data instead of keeping it for a later resume. */
  discard: z.boolean().optional(),
});
export type CancelPullRequest = z.infer<typeof CancelPullRequest>;

export const CancelPullResponse = z.object({ cancelled: z.boolean() });
export type CancelPullResponse = z.infer<typeof CancelPullResponse>;

export const DeleteRequest = z
  .object({ model: z.string().min(1).optional(), name: z.string().min(1).optional() })
  .refine((r) => r.model ?? r.name, { message: "model is required", path: ["model"] });

export const DeleteResponse = z.object({ deleted: z.string(), freed_bytes: z.number() });
export type DeleteResponse = z.infer<typeof DeleteResponse>;
