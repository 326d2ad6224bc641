/** Whether a ranged GET's response head answers the range the downloader asked for. */
import type { DownloadRequest } from "./download-types.js";
import type { Task } from "./download-task.js";
import { retryAfterMs } from "../hf-client.js";
import { UpstreamError } from "../hub-errors.js";
import type { RangeResponseHead } from "../range/range-types.js";

/** Refuse a range response that cannot be used for `task` (wrong range, changed file, ignored Range, error status). */
export function checkRangeResponse(res: RangeResponseHead, task: Task, request: DownloadRequest, label: string): void {
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!m || Number(m[1]) !== task.pos) {
      throw new UpstreamError(`${label}: unexpected Content-Range "${res.headers.get("content-range")}"`, true);
    }
    if (m[3] !== "*" && Number(m[3]) !== request.size) {
      throw new UpstreamError(
        `${label}: the file changed upstream (size ${m[3]}, expected ${request.size}); pull again`,
        false,
        { file: label },
      );
    }
    return;
  }
  if (res.status === 200) {
    // A server that ignores Range sends the whole file: usable only for a range that starts at 0.
    if (task.pos === 0) return;
    throw new UpstreamError(`${label}: the server ignored the Range header`, false, { file: label });
  }
  const response = new Response(null, { status: res.status, headers: res.headers });
  if (request.errorFromResponse) throw request.errorFromResponse(response);
  const retryable = res.status === 429 || res.status >= 500 || res.status === 408;
  const retryAfter = retryAfterMs(response);
  throw new UpstreamError(`${label}: HTTP ${res.status}`, retryable, {
    file: label,
    status: res.status,
    ...(retryAfter !== undefined ? { retry_after_ms: retryAfter } : {}),
  });
}
