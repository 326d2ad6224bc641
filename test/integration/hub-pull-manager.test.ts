import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import type { BlobDownloadDefaults } from "../../src/daemon/hub/download/blob-store.js";
import { HubClient } from "../../src/daemon/hub/hf-client.js";
import {
  DigestMismatchError,
  GatedRepoError,
  GgufSelectionError,
  HubError,
  InsufficientStorageError,
  PullCancelledError,
} from "../../src/daemon/hub/hub-errors.js";
import { PullManager, type PullProgress, type PullSummary } from "../../src/daemon/hub/pull/pull-manager.js";
import { migrateToLatest, openDatabase, type Db } from "../../src/daemon/store/database.js";
import type { ModelRow } from "../../src/daemon/store/repos/models-repo.js";
import { ModelsRepo } from "../../src/daemon/store/repos/models-repo.js";
import { PullsRepo } from "../../src/daemon/store/repos/pulls-repo.js";
import { FakeHub, sha256Hex, testBytes } from "../helpers/fake-hub.js";
import { makeTempHome } from "../helpers/temp-home.js";

const MiB = 1024 * 1024;
const TOKEN = "hf_pull_test_token";
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "../helpers/pull-child.ts");

const q4 = testBytes(4 * MiB + 1001, 11);
const q8 = testBytes(5 * MiB + 7, 12);
const big = testBytes(12 * MiB + 333, 13);
const parts = [testBytes(2 * MiB + 1, 21), testBytes(2 * MiB + 2, 22), testBytes(1 * MiB + 3, 23)];

interface Env {
  db: Db;
  manager: PullManager;
  models: ModelsRepo;
  pulls: PullsRepo;
  ready: ModelRow[];
  finished: PullSummary[];
  described: string[][];
  close(): Promise<void>;
}

async function collect(iterable: AsyncIterable<PullProgress>): Promise<PullProgress[]> {
  const out: PullProgress[] = [];
  for await (const p of iterable) out.push(p);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("hub pull manager (fake hub, real store)", function () {
  this.timeout(30_000);
  let hub: FakeHub;
  let tmp: { home: string; cleanup: () => void };
  const envs: Env[] = [];

  async function open(options: { token?: string; download?: BlobDownloadDefaults } = {}): Promise<Env> {
    const db = openDatabase({ file: path.join(tmp.home, "mlxm.db") });
    await migrateToLatest(db);
    const ready: ModelRow[] = [];
    const finished: PullSummary[] = [];
    const described: string[][] = [];
    const models = new ModelsRepo(db);
    const pulls = new PullsRepo(db);
    const manager = new PullManager({
      pulls,
      models,
      home: tmp.home,
      hub: new HubClient({ endpoint: hub.url, token: options.token }),
      logger: pino({ level: "silent" }),
      onModelReady: (m) => {
        ready.push(m);
      },
      onPullFinished: (s) => finished.push(s),
      describeModel: async (p, all) => {
        described.push(all);
        expect(p).to.equal(all[0]);
        return { family: "llama", parameterSize: "1B", contextLength: 2048, details: { general_name: "test" } };
      },
      download: {
        chunkSize: 1 * MiB,
        concurrency: 2,
        retryBaseMs: 5,
        retryMaxMs: 50,
        stallTimeoutMs: 400,
        writeBufferBytes: 256 * 1024,
        ...options.download,
      },
    });
    let closed = false;
    const env: Env = {
      db, manager, models, pulls, ready, finished, described,
      close: async () => {
        if (closed) return;
        closed = true;
        await manager.dispose();
        await db.destroy();
      },
    };
    envs.push(env);
    return env;
  }

  before(async () => {
    hub = await FakeHub.start({
      token: TOKEN,
      repos: [
        {
          id: "org/Model-GGUF",
          files: [
            { path: "README.md", content: Buffer.from("hi"), lfs: false },
            { path: "model-Q4_K_M.gguf", content: q4 },
            { path: "model-Q8_0.gguf", content: q8 },
          ],
        },
        { id: "org/twin-GGUF", files: [{ path: "twin-Q4_K_M.gguf", content: q4 }] },
        { id: "org/big-GGUF", files: [{ path: "big-Q4_K_M.gguf", content: big }] },
        {
          id: "org/split-GGUF",
          files: parts.map((content, i) => ({ path: `Q8_0/split-Q8_0-0000${i + 1}-of-00003.gguf`, content })),
        },
        { id: "org/gated-GGUF", gated: "auto", files: [{ path: "g-Q4_K_M.gguf", content: q8 }] },
        { id: "org/safetensors", files: [{ path: "model.safetensors", content: Buffer.alloc(10) }] },
      ],
    });
  });
  after(() => hub.close());
  beforeEach(() => {
    tmp = makeTempHome("mlxm-hub-pull-");
    hub.resetCounters();
    hub.clearFaults();
    hub.throttleBytesPerSecond = undefined;
  });
  afterEach(async () => {
    for (const e of envs.splice(0)) await e.close();
    tmp.cleanup();
  });

  it("pulls a model with Ollama-shaped progress and makes it visible only when verified", async () => {
    const env = await open();
    const handle = env.manager.pull("hf.co/org/model-gguf");
    const events = await collect(handle);
    const summary = await handle.result;

    const digest = `sha256:${sha256Hex(q4)}`;
    const statuses = events.map((e) => e.status);
    expect(statuses[0]).to.equal("pulling manifest");
    expect(events[1]).to.deep.include({ status: "selected hf.co/org/Model-GGUF:Q4_K_M", name: "hf.co/org/Model-GGUF:Q4_K_M" });
    expect(events[1].reason).to.match(/Q4_K_M is the default/);
    const fileEvents = events.filter((e) => e.status === `pulling ${sha256Hex(q4).slice(0, 12)}`);
    expect(fileEvents.length).to.be.greaterThanOrEqual(2);
    for (const e of fileEvents) expect(e).to.include({ digest, total: q4.length });
    expect(fileEvents.at(-1)!.completed).to.equal(q4.length);
    expect(statuses.slice(-3)).to.deep.equal(["verifying sha256 digest", "writing manifest", "success"]);
    expect(JSON.parse(JSON.stringify(events))).to.deep.equal(events); // plain NDJSON-able objects

    const model = await env.models.findByName("hf.co/org/Model-GGUF:Q4_K_M");
    expect(model).to.deep.include({
      source: "hf", repo: "org/Model-GGUF", revision: hub.commitOf("org/model-gguf"), quant: "Q4_K_M", format: "gguf",
      family: "llama", parameter_size: "1B", context_length: 2048, size_bytes: q4.length, digest,
    });
    expect(JSON.parse(model!.details_json)).to.deep.include({ general_name: "test", requested_revision: "main" });
    const files = await env.models.files(model!.id);
    expect(files).to.have.length(1);
    expect(files[0].path).to.equal(path.join(tmp.home, "blobs", `sha256-${sha256Hex(q4)}`));
    expect(fs.readFileSync(files[0].path).equals(q4)).to.equal(true);
    expect(env.described).to.deep.equal([[files[0].path]]);
    expect(env.ready.map((m) => m.name)).to.deep.equal(["hf.co/org/Model-GGUF:Q4_K_M"]);

    const rows = await env.pulls.list();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.deep.include({ status: "completed", completed_bytes: q4.length, total_bytes: q4.length });
    const plan = JSON.parse(rows[0].plan_json!);
    expect(plan).to.deep.include({ name: "hf.co/org/Model-GGUF:Q4_K_M", commit: hub.commitOf("org/model-gguf") });
    expect(plan.files[0]).to.deep.include({ filename: "model-Q4_K_M.gguf", size: q4.length, sha256: sha256Hex(q4) });

    expect(summary.status).to.equal("completed");
    expect(summary.stats).to.deep.include({ files: 1, totalBytes: q4.length, bytesDownloaded: q4.length, resumedFrom: 0 });
    expect(env.finished.map((s) => s.status)).to.deep.equal(["completed"]);
    expect(hub.cdnSawAuthorization).to.equal(false);
  });

  it("attaches a second caller (and another spelling of the same model) to the running pull", async () => {
    hub.throttleBytesPerSecond = 8 * MiB;
    const env = await open();
    const a = env.manager.pull("org/Model-GGUF:Q8_0");
    const b = env.manager.pull("hf.co/org/model-gguf:q8_0");
    const c = env.manager.pull("org/model-gguf", { file: "model-Q8_0.gguf" });
    const [ea, eb, ec] = await Promise.all([collect(a), collect(b), collect(c)]);
    for (const events of [ea, eb, ec]) expect(events.at(-1)!.status).to.equal("success");
    expect(hub.bytesServed("org/model-gguf", "model-Q8_0.gguf")).to.equal(q8.length);
    expect(await env.pulls.list()).to.have.length(1);
    expect(env.ready).to.have.length(1);
  });

  it("keeps pulling when the caller goes away, and cancel() really stops it", async () => {
    hub.throttleBytesPerSecond = 4 * MiB;
    const env = await open();
    const ac = new AbortController();
    const detached = env.manager.pull("org/model-gguf:Q8_0", { signal: ac.signal });
    const it = detached[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    expect(((await rejection(it.next())) as Error).name).to.equal("AbortError");
    const summary = await detached.result;
    expect(summary.status).to.equal("completed");
    expect(await env.models.findByName("hf.co/org/Model-GGUF:Q8_0")).to.not.equal(undefined);

    // cancel
    const handle = env.manager.pull("org/big-gguf");
    const seen: PullProgress[] = [];
    const consumer = (async () => {
      for await (const p of handle) {
        seen.push(p);
        if ((p.completed ?? 0) > 2 * MiB) void env.manager.cancel("hf.co/org/big-GGUF:Q4_K_M");
      }
    })();
    const err = await rejection(consumer);
    expect(err).to.be.instanceOf(PullCancelledError);
    expect((err as HubError).code).to.equal("cancelled");
    expect(((await rejection(handle.result)) as HubError).code).to.equal("cancelled");
    expect((await env.pulls.list()).find((r) => r.ref === "hf.co/org/big-GGUF:Q4_K_M")?.status).to.equal("cancelled");
    expect(await env.models.findByName("hf.co/org/big-GGUF:Q4_K_M")).to.equal(undefined);
    const partial = path.join(tmp.home, "blobs", `sha256-${sha256Hex(big)}-partial`);
    expect(fs.existsSync(partial)).to.equal(true);

    // A later pull resumes the kept partial.
    hub.throttleBytesPerSecond = undefined;
    const again = env.manager.pull("org/big-gguf");
    await collect(again);
    const s = await again.result;
    expect(s.stats.resumedFrom).to.be.greaterThan(2 * MiB);
    // Over both runs, at most one chunk per connection was fetched twice.
    expect(hub.bytesServed("org/big-gguf", "big-Q4_K_M.gguf") - big.length).to.be.lessThanOrEqual(2 * MiB);
    expect(await env.manager.cancel("org/nothing:Q4_K_M")).to.equal(false);
  });

  it("deletes the old file when a model is pulled again under its name with other content", async () => {
    const env = await open();
    hub.addRepo({ id: "org/changing-GGUF", files: [{ path: "c-Q4_K_M.gguf", content: q4 }] });
    await collect(env.manager.pull("org/changing-GGUF"));
    const oldBlob = path.join(tmp.home, "blobs", `sha256-${sha256Hex(q4)}`);
    expect(fs.existsSync(oldBlob)).to.equal(true);
    // The repo's file changed upstream; pulling again replaces the model under the same name.
    hub.addRepo({ id: "org/changing-GGUF", files: [{ path: "c-Q4_K_M.gguf", content: q8 }] });
    await collect(env.manager.pull("org/changing-GGUF"));
    const files = await env.models.files((await env.models.findByName("hf.co/org/changing-GGUF:Q4_K_M"))!.id);
    expect(files.map((f) => f.digest)).to.deep.equal([`sha256:${sha256Hex(q8)}`]);
    expect(fs.existsSync(oldBlob), "the replaced file").to.equal(false);
    expect(await env.models.findBlob(`sha256:${sha256Hex(q4)}`)).to.equal(undefined);
  });

  it("discards the partial data of a pull that already ended (cancelled), but never one being downloaded", async () => {
    hub.throttleBytesPerSecond = 4 * MiB;
    const env = await open();
    const partial = path.join(tmp.home, "blobs", `sha256-${sha256Hex(big)}-partial`);
    const cancelAfter = async (ref: string) => {
      const handle = env.manager.pull(ref);
      await rejection(
        (async () => {
          for await (const p of handle) if ((p.completed ?? 0) > 2 * MiB) void env.manager.cancel(ref);
        })(),
      );
    };
    await cancelAfter("hf.co/org/big-GGUF:Q4_K_M");
    expect(fs.existsSync(partial)).to.equal(true);
    // Before, `--discard` only found running or unfinished pulls: this answered "not found" and kept the data.
    expect(await env.manager.cancel("hf.co/org/big-GGUF:Q4_K_M", { discard: true })).to.equal(true);
    expect(fs.existsSync(partial)).to.equal(false);
    expect(fs.existsSync(`${partial}.progress.json`)).to.equal(false);
    expect(await env.manager.cancel("hf.co/org/big-GGUF:Q4_K_M", { discard: true }), "nothing left").to.equal(true);
    expect(await env.manager.cancel("hf.co/org/never-pulled:Q4_K_M", { discard: true })).to.equal(false);
  });

  it("resumes an interrupted pull in a NEW manager, re-fetching at most one chunk per connection", async () => {
    hub.throttleBytesPerSecond = 6 * MiB;
    const first = await open();
    const handle = first.manager.pull("org/big-gguf");
    for await (const p of handle) if ((p.completed ?? 0) >= big.length / 2) break; // the caller detaches ...
    await first.close(); // ... and the daemon stops (SIGTERM): the row stays unfinished
    const row = (await (await open()).pulls.list())[0];
    expect(row.status).to.equal("running");
    await envs.at(-1)!.close();

    hub.throttleBytesPerSecond = undefined;
    const second = await open();
    expect(await second.manager.resumeUnfinished()).to.deep.equal(["hf.co/org/big-GGUF:Q4_K_M"]);
    const attached = second.manager.pull("org/big-gguf"); // attaches to the resumed pull
    const events = await collect(attached);
    expect(events.at(-1)!.status).to.equal("success");
    const summary = await attached.result;
    expect(summary.stats.resumedFrom).to.be.greaterThanOrEqual(big.length / 2 - 2 * MiB);
    const refetched = hub.bytesServed("org/big-gguf", "big-Q4_K_M.gguf") - big.length;
    expect(refetched).to.be.lessThanOrEqual(1 * MiB * 2);
    expect(fs.readFileSync(path.join(tmp.home, "blobs", `sha256-${sha256Hex(big)}`)).equals(big)).to.equal(true);
    expect((await second.pulls.list())[0].status).to.equal("completed");
  });

  it("survives kill -9 of the pulling process: the restart re-fetches at most one chunk per connection", async () => {
    hub.throttleBytesPerSecond = 3 * MiB;
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify({
      home: tmp.home, endpoint: hub.url, ref: "org/big-gguf",
      download: { chunkSize: 1 * MiB, concurrency: 2, writeBufferBytes: 256 * 1024 },
    })], { stdio: ["ignore", "pipe", "inherit"] });
    let killedAt = 0;
    for await (const line of readline.createInterface({ input: child.stdout! })) {
      const p = JSON.parse(line) as PullProgress;
      if ((p.completed ?? 0) >= big.length * 0.4) {
        killedAt = p.completed!;
        child.kill("SIGKILL");
        break;
      }
    }
    await new Promise((r) => child.once("exit", r));
    expect(killedAt).to.be.greaterThan(0);

    hub.throttleBytesPerSecond = undefined;
    const env = await open();
    expect(await env.manager.resumeUnfinished()).to.deep.equal(["hf.co/org/big-GGUF:Q4_K_M"]);
    const summary = await env.manager.pull("org/big-gguf").result;
    expect(summary.status).to.equal("completed");
    const refetched = hub.bytesServed("org/big-gguf", "big-Q4_K_M.gguf") - big.length;
    expect(refetched).to.be.lessThanOrEqual(1 * MiB * 2);
    expect(summary.stats.resumedFrom).to.be.greaterThan(0);
  });

  it("fails on a corrupted byte, deletes the bad data, and registers nothing", async () => {
    hub.fault("org/model-gguf", "model-Q4_K_M.gguf", { kind: "corrupt", offset: 3 * MiB + 3 });
    const env = await open();
    const handle = env.manager.pull("org/model-gguf:Q4_K_M");
    const err = await rejection(collect(handle));
    expect(err).to.be.instanceOf(DigestMismatchError);
    expect((err as HubError).code).to.equal("upstream_error");
    expect((err as HubError).details).to.deep.include({ expected: sha256Hex(q4) });
    expect(await env.models.list()).to.deep.equal([]);
    expect(fs.readdirSync(path.join(tmp.home, "blobs"))).to.deep.equal([]);
    expect((await env.pulls.list())[0]).to.deep.include({ status: "failed" });
  });

  it("explains a gated repo without a token, and pulls it with one", async () => {
    const anonymous = await open();
    const err = await rejection(collect(anonymous.manager.pull("org/gated-gguf")));
    expect(err).to.be.instanceOf(GatedRepoError);
    expect((err as HubError).code).to.equal("unauthorized");
    expect((err as Error).message).to.match(/HF_TOKEN/);
    expect(await anonymous.pulls.list()).to.deep.equal([]); // refused before any plan or byte
    await anonymous.close();

    hub.resetCounters();
    const authed = await open({ token: TOKEN });
    const events = await collect(authed.manager.pull("org/gated-gguf"));
    expect(events.at(-1)!.status).to.equal("success");
    expect(hub.cdnSawAuthorization).to.equal(false);
    expect(hub.log.filter((l) => l.server === "hub" && l.path.includes("/resolve/")).every((l) => l.authorization)).to.equal(true);
  });

  it("pulls split GGUFs whole, in part order", async () => {
    const env = await open();
    const events = await collect(env.manager.pull("org/split-gguf:Q8_0"));
    for (const part of parts) expect(events.some((e) => e.digest === `sha256:${sha256Hex(part)}`)).to.equal(true);
    const model = await env.models.findByName("hf.co/org/split-GGUF:Q8_0");
    expect(model!.size_bytes).to.equal(parts.reduce((n, p) => n + p.length, 0));
    const files = await env.models.files(model!.id);
    expect(files.map((f) => f.filename)).to.deep.equal(parts.map((_, i) => `Q8_0/split-Q8_0-0000${i + 1}-of-00003.gguf`));
    files.forEach((f, i) => expect(fs.readFileSync(f.path).equals(parts[i])).to.equal(true));
    expect(env.described[0]).to.deep.equal(files.map((f) => f.path));
  });

  it("recovers from a 500 and from a stalled connection within one pull", async () => {
    hub.fault("org/model-gguf", "model-Q8_0.gguf", { kind: "status", status: 500, afterBytes: 1 * MiB });
    hub.fault("org/model-gguf", "model-Q8_0.gguf", { kind: "stall", afterBytes: 3 * MiB + 5 });
    const env = await open();
    const handle = env.manager.pull("org/model-gguf:Q8_0");
    await collect(handle);
    const summary = await handle.result;
    expect(summary.stats.retries).to.be.greaterThanOrEqual(2);
    expect(summary.stats.stalls).to.equal(1);
    const model = await env.models.findByName("hf.co/org/Model-GGUF:Q8_0");
    expect(fs.readFileSync((await env.models.files(model!.id))[0].path).equals(q8)).to.equal(true);
  });

  it("refuses to start without disk space, naming needed and free bytes", async () => {
    const env = await open({ download: { statfs: async () => ({ bavail: 256, bsize: 4096 }) } });
    const err = await rejection(collect(env.manager.pull("org/model-gguf:Q8_0")));
    expect(err).to.be.instanceOf(InsufficientStorageError);
    expect((err as HubError).details).to.deep.include({ needed: q8.length, free: 256 * 4096 });
    expect(hub.bytesServed("org/model-gguf", "model-Q8_0.gguf")).to.equal(0);
    expect((await env.pulls.list())[0].status).to.equal("failed");
  });

  it("stores identical files once and reports clear errors for bad requests", async () => {
    const env = await open();
    await env.manager.pull("org/model-gguf:Q4_K_M").result;
    const handle = env.manager.pull("org/twin-gguf");
    await collect(handle);
    expect((await handle.result).stats.reusedBytes).to.equal(q4.length);
    expect(hub.bytesServed("org/twin-gguf", "twin-Q4_K_M.gguf")).to.equal(0);
    const a = await env.models.findByName("hf.co/org/Model-GGUF:Q4_K_M");
    const b = await env.models.findByName("hf.co/org/twin-GGUF:Q4_K_M");
    expect(a!.digest).to.equal(b!.digest);

    const noGguf = await rejection(env.manager.pull("org/safetensors").result);
    expect(noGguf).to.be.instanceOf(GgufSelectionError);
    expect((noGguf as Error).message).to.match(/no GGUF/);
    const missingQuant = (await rejection(env.manager.pull("org/model-gguf:Q6_K").result)) as HubError;
    expect(missingQuant.details?.available).to.deep.equal(["Q4_K_M", "Q8_0"]);
    expect(((await rejection(env.manager.pull("org/does-not-exist").result)) as HubError).code).to.equal("not_found");
    expect(() => env.manager.pull("not a ref")).to.throw(HubError);
  });
});
