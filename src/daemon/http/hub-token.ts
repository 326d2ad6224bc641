/**
 * The caller's Hugging Face token, in `X-HF-Token`: the CLI sends its HF_TOKEN to a daemon on this machine with a
 * pull or a search, so `HF_TOKEN=… mlxm pull` (a gated or private repo) and `HF_TOKEN=… mlxm search` (the caller's
 * private repos) work whatever environment the daemon was started in. The token is never stored, logged or echoed.
 */
import { isPlainToken } from "../../config/parse.js";
import { badRequest } from "../errors.js";

/** The header a request carries its caller's Hugging Face token in. */
export const HUB_TOKEN_HEADER = "x-hf-token";

/** The token from its header: absent or empty is none; one that could not be a token is refused (never echoed). */
export function hubTokenOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.length > 1024 || !isPlainToken(value)) {
    throw badRequest(`the ${HUB_TOKEN_HEADER} header is not a Hugging Face token (printable ASCII without spaces, at most 1024 characters)`);
  }
  return value;
}
