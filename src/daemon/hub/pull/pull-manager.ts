/**
 * The daemon's pulls. A pull resolves a reference to GGUF files at one commit, writes that plan to its `pulls` row
 * before the first byte, downloads and verifies every file into the blob store, and only then makes the model
 * visible (ModelsRepo.upsert, one transaction). Progress is Ollama's `/api/pull` NDJSON stream.
 *
 * Pulls belong to the daemon, not to the request that started them: a second caller asking for the same model
 * attaches to the running pull, a caller that goes away only detaches (the pull goes on), `cancel()` really stops
 * it, and `resumeUnfinished()` at start-up picks up every pull a crash or shutdown interrupted.
 */
import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import type { ModelRow } from "../../store/repos/models-repo.js";
import type { PullRow } from "../../store/repos/pulls-repo.js";
import { deleteReplacedBlobs } from "../../engine/model-deletion.js";
import { poolParking } from "../../engine/pool-parking.js";
import { BlobStore } from "../download/blob-store.js";
import { writerThreads } from "../download/writer-threads.js";
import { HubError, PullCancelledError, PullInterruptedError } from "../hub-errors.js";
import { modelName, parseModelRef, requestKey, type ModelRef } from "../model-ref.js";
import { parsePlan, planPull } from "./pull-plan.js";
import { PullTask, type Source } from "./pull-task.js";
import { checkSpace, downloadPlan, errorText, type PlanFile, type TransferDeps } from "./pull-transfer.js";
import type { ModelDescription, PullManagerDeps, PullOptions, PullHandle, PullPlan, PullStats, PullSummary } from "./pull-types.js";

export type {
  ModelDescription,
  PlannedFile,
  PullHandle,
  PullManagerDeps,
  PullOptions,
  PullPlan,
  PullProgress,
  PullStats,
  PullSummary,
} from "./pull-types.js";

/** See the module comment. */
export class PullManager {
  readonly blobs: BlobStore;
  readonly #deps: PullManagerDeps;
  readonly #log: Logger;
  readonly #byKey = new Map<string, PullTask>();
  readonly #byName = new Map<string, PullTask>();
  readonly #tasks = new Set<PullTask>();
  readonly #transfer: TransferDeps;
  #disposed = false;

  constructor(deps: PullManagerDeps) {
    this.#deps = deps;
    this.#log = deps.logger.child({ component: "hub" });
    this.blobs = new BlobStore(deps.home, { logger: this.#log, ...deps.download });
    this.#transfer = { hub: deps.hub, pulls: deps.pulls, localCopy: deps.localCopy, blobs: this.blobs, log: this.#log };
    // The first file's writer thread starts now, with the daemon, rather than when its first bytes are waiting.
    writerThreads.warm();
  }

  /**
   * Pull a model: `hf.co/<org>/<repo>[:<quant>]` or `<org>/<repo>[:<quant>]`, with optional `file` and `revision`.
   * Throws InvalidModelRefError at once for a malformed reference; every other failure arrives through the
   * iterator and `result`. Joins the running pull when the same model is already being pulled.
   */
  pull(ref: string, options: PullOptions = {}): PullHandle {
    if (this.#disposed) throw new PullInterruptedError("the daemon is shutting down");
    const parsed = parseModelRef(ref, options);
    const key = requestKey(parsed);
    const task = this.#byKey.get(key) ?? this.#start(key, { kind: "request", ref: parsed, input: ref, hubToken: options.hubToken });
    return task.handle(options.signal);
  }

  /** Pulls in progress: their names (once known) and references. */
  active(): { ref: string; name?: string }[] {
    return [...this.#tasks].map((t) => ({ ref: t.ref, name: t.name }));
  }

  /**
   * Cancel a pull by reference or model name. The partial files stay for a later pull to resume unless `discard`.
   * Also cancels an unfinished pull recorded in the store that is not running (e.g. before resumeUnfinished).
   * Returns false when nothing matched.
   */
  async cancel(ref: string, options: { discard?: boolean } = {}): Promise<boolean> {
    const task = this.#find(ref);
    if (task) {
      task.discard = options.discard ?? false;
      task.controller.abort(new PullCancelledError(`pull of ${task.name ?? task.ref} cancelled`));
      await task.done.catch(() => undefined);
      return true;
    }
    const name = this.#nameOf(ref);
    if (!name) return false;
    const row = await this.#deps.pulls.findUnfinished(name);
    if (row) await this.#deps.pulls.update(row.id, { status: "cancelled", error: "cancelled" });
    // `--discard` also clears what an earlier pull left when it was cancelled or failed.
    const ended = row ?? (options.discard ? await this.#deps.pulls.findLatest(name) : undefined);
    if (!ended || ended.status === "completed") return false;
    if (options.discard) {
      const plan = parsePlan(ended.plan_json);
      for (const f of plan?.files ?? []) await this.blobs.discardPartial(f);
    }
    return true;
  }

  /**
   * Resume every unfinished pull recorded in the store (call once at daemon start). Runs them in the background
   * and returns their names; each one's outcome goes to the log and `onPullFinished`.
   */
  async resumeUnfinished(): Promise<string[]> {
    const rows = await this.#deps.pulls.listUnfinished();
    const newest = new Map<string, PullRow>();
    for (const row of rows) {
      const older = newest.get(row.ref);
      if (older) await this.#deps.pulls.update(older.id, { status: "failed", error: "superseded by a newer pull" });
      newest.set(row.ref, row);
    }
    const resumed: string[] = [];
    for (const row of newest.values()) {
      const plan = parsePlan(row.plan_json);
      let ref: ModelRef;
      try {
        ref = plan
          ? parseModelRef(plan.request.ref, { file: plan.request.file, revision: plan.request.revision })
          : parseModelRef(row.ref);
      } catch (err) {
        await this.#deps.pulls.update(row.id, { status: "failed", error: `cannot resume: ${errorText(err)}` });
        continue;
      }
      const key = requestKey(ref);
      if (this.#byKey.has(key) || this.#byName.has(row.ref.toLowerCase())) continue;
      const task = this.#start(key, { kind: "resume", row, plan, ref });
      task.done.catch(() => undefined);
      resumed.push(row.ref);
    }
    if (resumed.length) this.#log.info({ pulls: resumed }, "resuming unfinished pulls");
    return resumed;
  }

  /**
   * Stop every running pull without cancelling it: rows stay unfinished and resume at the next start.
   * Waits until they have stopped (partial progress saved).
   */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const tasks = [...this.#tasks];
    for (const t of tasks) t.controller.abort(new PullInterruptedError());
    await Promise.all(tasks.map((t) => t.done.catch(() => undefined)));
    await writerThreads.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  #start(key: string, source: Source): PullTask {
    const task = new PullTask(key, source.kind === "request" ? source.input : source.row.ref);
    this.#byKey.set(key, task);
    this.#tasks.add(task);
    // A pull's disk writes and hashing want libuv's pool: no parking while it runs (engine/pool-parking.ts).
    const stopUsingPool = poolParking.use();
    task.done = this.#run(task, source).finally(() => {
      stopUsingPool();
      if (this.#byKey.get(key) === task) this.#byKey.delete(key);
      if (task.name && this.#byName.get(task.name.toLowerCase()) === task) this.#byName.delete(task.name.toLowerCase());
      this.#tasks.delete(task);
    });
    // Nobody may be listening (a detached caller, a resumed pull): the outcome is logged, never unhandled.
    task.done.catch(() => undefined);
    return task;
  }

  async #run(task: PullTask, source: Source): Promise<PullSummary> {
    const started = performance.now();
    const stats: PullStats = {
      files: 0, totalBytes: 0, bytesDownloaded: 0, resumedFrom: 0, reusedBytes: 0, retries: 0, stalls: 0,
      splits: 0, downloadMs: 0, verifyMs: 0, hashMs: 0, hashedInMemory: 0, writtenDirect: 0, readBackDirect: 0, connections: 0,
      durationMs: 0,
    };
    const signal = task.controller.signal;
    const hub = this.#deps.hub.forCaller(source.kind === "request" ? source.hubToken : undefined);
    try {
      task.fanout.publish({ status: "pulling manifest" });
      let plan: PullPlan;
      if (source.kind === "resume" && source.plan) plan = source.plan;
      else plan = await planPull(hub, source.ref, source.kind === "request" ? source.input : source.row.ref, signal);
      task.plan = plan;
      task.name = plan.name;
      stats.files = plan.files.length;
      stats.totalBytes = plan.totalBytes;

      // Two spellings of one model (e.g. `org/repo` and `hf.co/org/repo:Q4_K_M`): follow the pull already running.
      const other = this.#byName.get(plan.name.toLowerCase());
      if (other && other !== task) return await this.#follow(task, other);
      this.#byName.set(plan.name.toLowerCase(), task);
      task.fanout.publish({ status: `selected ${plan.name}`, name: plan.name, reason: plan.reason });

      const row =
        source.kind === "resume" ? source.row : ((await this.#deps.pulls.findUnfinished(plan.name)) ?? (await this.#deps.pulls.create(plan.name)));
      task.rowId = row.id;
      // The plan is durable before the first byte: a crash from here on resumes exactly these files.
      await this.#deps.pulls.update(row.id, {
        status: "running",
        plan_json: JSON.stringify(plan),
        total_bytes: plan.totalBytes,
        error: null,
      });
      this.#log.info({ pull: plan.name, commit: plan.commit, files: plan.files.length, bytes: plan.totalBytes, reason: plan.reason },
        source.kind === "resume" ? "resuming pull" : "pull started");

      await checkSpace(this.blobs, plan);
      const paths = await downloadPlan({ ...this.#transfer, hub }, { task, plan, rowId: row.id, stats, signal });

      task.fanout.publish({ status: "writing manifest" });
      const model = await this.#register(plan, paths);
      await this.#deps.pulls.update(row.id, { status: "completed", completed_bytes: plan.totalBytes, error: null });
      stats.durationMs = performance.now() - started;
      task.fanout.publish({ status: "success" });
      task.fanout.close();
      const summary: PullSummary = {
        name: plan.name, ref: task.ref, status: "completed", repo: plan.repo, commit: plan.commit, quant: plan.quant,
        reason: plan.reason, stats, model,
      };
      this.#log.info({ pull: plan.name, stats }, "pull completed");
      this.#finished(summary);
      try {
        await this.#deps.onModelReady?.(model);
      } catch (err) {
        this.#log.warn({ pull: plan.name, err: errorText(err) }, "onModelReady failed");
      }
      return summary;
    } catch (err) {
      stats.durationMs = performance.now() - started;
      const reason: unknown = signal.aborted ? signal.reason : err;
      const status: PullSummary["status"] =
        reason instanceof PullCancelledError ? "cancelled" : reason instanceof PullInterruptedError ? "interrupted" : "failed";
      if (task.rowId !== undefined && status !== "interrupted") {
        // An interrupted pull keeps its unfinished status so the next start resumes it.
        await this.#deps.pulls
          .update(task.rowId, { status, error: errorText(reason) })
          .catch((e: unknown) => this.#log.error({ err: errorText(e) }, "could not record pull outcome"));
      }
      if (status === "cancelled" && task.discard && task.plan) {
        for (const f of task.plan.files) await this.blobs.discardPartial(f).catch(() => undefined);
      }
      const level = status === "failed" ? "warn" : "info";
      this.#log[level]({ pull: task.name ?? task.ref, status, err: errorText(reason), stats }, `pull ${status}`);
      task.fanout.close(reason);
      const summary: PullSummary = {
        name: task.name, ref: task.ref, status, repo: task.plan?.repo, commit: task.plan?.commit,
        quant: task.plan?.quant, reason: task.plan?.reason, stats, error: reason,
      };
      this.#finished(summary);
      throw reason;
    }
  }


  /** Make the model visible: describe it (GGUF metadata), then insert it with its blobs in one transaction. */
  async #register(plan: PullPlan, files: PlanFile[]): Promise<ModelRow> {
    let description: ModelDescription = {};
    if (this.#deps.describeModel) {
      try {
        description = await this.#deps.describeModel(files[0].path, files.map((f) => f.path));
      } catch (err) {
        // Verified but unusable: nothing may keep these bytes alive, so drop the blobs no other model owns.
        for (const f of files) {
          if (!(await this.#deps.models.findBlob(f.digest))) await rm(f.path, { force: true });
        }
        throw new HubError(`${plan.name} is not a usable GGUF model: ${errorText(err)}`, "invalid_model", { name: plan.name }, { cause: err });
      }
    }
    const row = await this.#deps.models.upsert(
      {
        name: plan.name,
        source: "hf",
        repo: plan.repo,
        revision: plan.commit,
        quant: plan.quant,
        format: "gguf",
        family: description.family ?? null,
        parameter_size: description.parameterSize ?? null,
        context_length: description.contextLength ?? null,
        size_bytes: plan.totalBytes,
        digest: files[0].digest,
        details_json: JSON.stringify({
          ...description.details,
          requested_revision: plan.revision,
          selection_reason: plan.reason,
          files: plan.files.map((f) => f.filename),
        }),
      },
      files.map((f) => ({ filename: f.filename, digest: f.digest, sizeBytes: f.size, path: f.path })),
    );
    // Pulled again under its name (the repo's file changed, or another file of that quant): the old file goes.
    await deleteReplacedBlobs(this.#deps.models);
    return row;
  }

  /** This task resolved to a model another task is already pulling: relay that one's progress and outcome. */
  async #follow(task: PullTask, other: PullTask): Promise<PullSummary> {
    this.#byKey.set(task.key, other);
    try {
      for await (const e of other.fanout.subscribe(task.controller.signal)) task.fanout.publish(e);
      task.fanout.close();
    } catch (err) {
      task.fanout.close(err);
    } finally {
      if (this.#byKey.get(task.key) === other) this.#byKey.delete(task.key);
    }
    return other.done;
  }

  #find(ref: string): PullTask | undefined {
    try {
      const task = this.#byKey.get(requestKey(parseModelRef(ref)));
      if (task) return task;
    } catch {
      // Not a parseable reference; try it as a model name.
    }
    const name = this.#nameOf(ref);
    return name ? this.#byName.get(name.toLowerCase()) : undefined;
  }

  #nameOf(ref: string): string | undefined {
    try {
      const parsed = parseModelRef(ref);
      return parsed.quant ? modelName(parsed.repo, parsed.quant) : undefined;
    } catch {
      return undefined;
    }
  }

  #finished(summary: PullSummary): void {
    try {
      this.#deps.onPullFinished?.(summary);
    } catch (err) {
      this.#log.warn({ err: errorText(err) }, "onPullFinished failed");
    }
  }
}

