/**
 * The caller's Hugging Face token, in `X-HF-Token` (HUB_TOKEN_HEADER): the CLI sends its HF_TOKEN to a daemon on this
 * machine with a pull or a search, so `HF_TOKEN=… mlxm pull` (a gated or private repo) and `HF_TOKEN=… mlxm search`
 * (the caller's private repos) work whatever environment the daemon was started in. The token is never stored,
 * logged or echoed.
 */
import type { Request } from "express";
import { isPlainToken } from "../../config/parse.js";
import { HUB_TOKEN_HEADER } from "../../protocol/pull.js";
import { badRequest } from "../errors.js";

/** The token `req` brings: absent or empty is none; one that could not be a token is refused (never echoed). */
export function callerHubToken(req: Request): string | undefined {
  const value = req.get(HUB_TOKEN_HEADER);
  if (!value) return undefined;
  if (value.length > 1024 || !isPlainToken(value)) {
    throw badRequest(`the ${HUB_TOKEN_HEADER} header is not a Hugging Face token (printable ASCII without spaces, at most 1024 characters)`);
  }
  return value;
}
