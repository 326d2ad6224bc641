/** One running pull: its abort controller, progress fan-out and what is known of it so far. */
import type { PullRow } from "../../store/repos/pulls-repo.js";
import type { ModelRef } from "../model-ref.js";
import { Fanout } from "./progress-fanout.js";
import type { PullHandle, PullPlan, PullProgress, PullSummary } from "./pull-types.js";

/** Where a pull comes from: a caller's request, or an unfinished row resumed at start-up. */
export type Source = { kind: "request"; ref: ModelRef; input: string; hubToken?: string } | { kind: "resume"; row: PullRow; plan?: PullPlan; ref: ModelRef };

/** A pull in progress, shared by every caller attached to it. */
export class PullTask {
  readonly controller = new AbortController();
  readonly fanout = new Fanout<PullProgress>((e) => e.digest ?? e.status);
  name: string | undefined;
  rowId: number | undefined;
  plan: PullPlan | undefined;
  done!: Promise<PullSummary>;
  discard = false;

  constructor(readonly key: string, readonly ref: string) {}

  handle(signal?: AbortSignal): PullHandle {
    const fanout = this.fanout;
    return {
      result: this.done,
      [Symbol.asyncIterator]: () => fanout.subscribe(signal),
    };
  }
}
