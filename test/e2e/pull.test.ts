/**
 * `mlxm pull` as scripts run it: the built CLI, a real background daemon whose HF_ENDPOINT is a local
 * Hub-compatible server serving generated GGUFs. Only the base URL differs from production.
 *
 * Most tests share one home and one daemon (a daemon start is most of an e2e test's time); a test that refuses or
 * cancels a pull proves it changed nothing by comparing the library and the blobs before and after. The tests that
 * need a daemon started with other settings, or kill one, get a home of their own.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { TINY_PRESET, encodeGguf, generateTinyLlama, tinyLlamaSpec } from "../../src/daemon/engine/gguf/index.js";
import { FakeHub, sha256Hex } from "../helpers/fake-hub.js";
import { parseJson, runCli, type CliEnv, freshCliEnv } from "../helpers/cli.js";
import { splitTinyLlama } from "../helpers/split-model.js";
import { until } from "../helpers/until.js";
import { partialPath } from "../../src/daemon/hub/download/blob-paths.js";
import { readPartialProgress } from "../../src/daemon/hub/download/partial-progress.js";
import { isDaemonProcess } from "../../src/home/pid-file.js";

const TOKEN = "hf_e2etoken0123456789abcdef";
const MiB = 1024 * 1024;

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("mlxm pull (e2e)", function () {
  // Bounds a broken run only: a daemon start can take half a minute with another e2e file running beside it.
  this.timeout(180_000);
  let hub: FakeHub;
  let env: CliEnv;
  const q8 = Buffer.from(generateTinyLlama({ ...TINY_PRESET, seed: 11, tensorType: "Q8_0" }));
  const f16 = Buffer.from(generateTinyLlama({ ...TINY_PRESET, seed: 12, tensorType: "F16" }));
  // Big enough for several chunks of 1 MiB (the tests use small chunks so an interruption lands mid-file).
  // Would abort llama.cpp (exit 134) if it were ever loaded.
  const headless = (() => {
    const spec = tinyLlamaSpec({ ...TINY_PRESET, seed: 15 });
    const { ["llama.attention.head_count"]: _dropped, ...metadata } = spec.metadata;
    return Buffer.from(encodeGguf({ ...spec, metadata }));
  })();
  const [part1, part2] = splitTinyLlama(2, { seed: 14, tensorType: "Q8_0" });
  const big = Buffer.from(generateTinyLlama({ ...TINY_PRESET, seed: 13, tensorType: "F32", vocabSize: 16000, nEmbd: 128 }));

  before(async () => {
    hub = await FakeHub.start({
      token: TOKEN,
      repos: [
        { id: "mlxm-test/tiny-GGUF", files: [{ path: "tiny-Q8_0.gguf", content: q8 }, { path: "tiny-F16.gguf", content: f16 }, { path: "README.md", content: Buffer.from("# tiny"), lfs: false }] },
        { id: "mlxm-test/big-GGUF", files: [{ path: "big-F32.gguf", content: big }] },
        { id: "mlxm-test/gated-GGUF", gated: "auto", files: [{ path: "gated-Q8_0.gguf", content: q8 }] },
        { id: "mlxm-test/split-GGUF", files: [{ path: "split-Q8_0-00001-of-00002.gguf", content: part1! }, { path: "split-Q8_0-00002-of-00002.gguf", content: part2! }] },
        { id: "mlxm-test/bad-GGUF", files: [{ path: "bad-Q8_0.gguf", content: headless }] },
        { id: "mlxm-test/no-gguf", files: [{ path: "model.safetensors", content: Buffer.alloc(1024, 1) }] },
      ],
    });
  });
  after(async () => hub.close());

  const homeWithHub = () =>
    freshCliEnv({
      HF_ENDPOINT: hub.url,
      MLXM_PULL_CHUNK_SIZE: "1MiB",
      MLXM_PULL_CONCURRENCY: "2",
      MLXM_PULL_STALL_TIMEOUT: "2s",
    });
  /** Stop the home's daemon (if any) and remove the home. */
  const discard = async (home: { env: CliEnv; cleanup: () => void } | undefined) => {
    if (!home) return;
    await runCli(["daemon", "stop"], home.env);
    home.cleanup();
  };
  /** What a pull that fails must leave untouched: the library's names and every file under blobs/. */
  const snapshot = async (e: CliEnv) => ({
    models: (parseJson(await runCli(["ls", "--json"], e)).models as { name: string }[]).map((m) => m.name).sort(),
    blobs: fs.existsSync(path.join(e.home, "blobs")) ? fs.readdirSync(path.join(e.home, "blobs")).sort() : [],
  });

  let shared: { env: CliEnv; cleanup: () => void } | undefined;
  before(async () => {
    shared = await homeWithHub();
  });
  after(async () => discard(shared));
  beforeEach(() => {
    env = shared!.env;
    hub.clearFaults();
    hub.resetCounters();
    hub.throttleBytesPerSecond = undefined;
  });

  it("pulls a model that then lists, shows and runs, and removes it again", async () => {
    const pull = await runCli(["pull", "hf.co/mlxm-test/tiny-GGUF:Q8_0", "--json"], env);
    expect(pull.code, pull.stderr).to.equal(0);
    const lines = ndjson(pull.stdout);
    expect(lines[0]).to.deep.equal({ status: "pulling manifest" });
    expect(lines.some((l) => typeof l.digest === "string" && l.total === q8.length && l.completed === q8.length)).to.equal(true);
    expect(lines.map((l) => l.status)).to.include("verifying sha256 digest").and.to.include("success");
    const outcome = lines.at(-1)!;
    expect(outcome).to.include({ status: "success", model: "hf.co/mlxm-test/tiny-GGUF:Q8_0" });
    const name = String(outcome.name);

    const ls = parseJson(await runCli(["ls", "--json"], env));
    const entry = ls.models.find((m: { name: string }) => m.name === name);
    expect(entry, JSON.stringify(ls)).to.exist;
    expect(entry.size).to.equal(q8.length);
    expect(entry.details.quantization_level).to.equal("Q8_0");

    const show = parseJson(await runCli(["show", name, "--json"], env));
    expect(JSON.stringify(show)).to.contain("llama");
    const run = await runCli(["run", name, "hello", "--max-tokens", "4"], env);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout.length).to.be.greaterThan(0);

    // A second pull of a complete model downloads nothing.
    hub.resetCounters();
    expect((await runCli(["pull", "mlxm-test/tiny-GGUF:Q8_0"], env)).code).to.equal(0);
    expect(hub.bytesServed("mlxm-test/tiny-GGUF", "tiny-Q8_0.gguf")).to.equal(0);

    const rm = await runCli(["rm", name, "--json"], env);
    expect(rm.code, rm.stderr).to.equal(0);
    expect(parseJson(rm)).to.deep.equal({ deleted: name, freed_bytes: q8.length });
    expect(parseJson(await runCli(["ls", "--json"], env)).models.map((m: { name: string }) => m.name)).not.to.include(name);
    expect((await runCli(["rm", name], env)).code).to.equal(4);
  });

  it("pulls a split GGUF whole and runs it", async () => {
    const pull = await runCli(["pull", "mlxm-test/split-GGUF:Q8_0", "--json"], env);
    expect(pull.code, pull.stderr).to.equal(0);
    const name = String(ndjson(pull.stdout).at(-1)!.name);
    const entry = parseJson(await runCli(["ls", "--json"], env)).models.find((m: { name: string }) => m.name === name);
    expect(entry.size).to.equal(part1!.length + part2!.length);
    const run = await runCli(["run", name, "hello", "--max-tokens", "4"], env);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout.length).to.be.greaterThan(0);
  });

  it("chooses a quantisation when none is given and says which and why", async () => {
    const pull = await runCli(["pull", "mlxm-test/tiny-GGUF", "--json"], env);
    expect(pull.code, pull.stderr).to.equal(0);
    const selected = ndjson(pull.stdout).find((l) => String(l.status).startsWith("selected"));
    expect(selected, pull.stdout).to.exist;
    expect(String(selected!.reason)).to.match(/Q4_K_M/);
    expect(String(selected!.name)).to.match(/:Q8_0$/);
  });

  it("explains unknown repos, repos without GGUF files and ambiguous or missing quantisations", async () => {
    const unknown = await runCli(["pull", "mlxm-test/does-not-exist"], env);
    expect(unknown.code).to.equal(4);
    expect(unknown.stderr).to.match(/not found/i);
    const noGguf = await runCli(["pull", "mlxm-test/no-gguf", "--json"], env);
    expect(noGguf.code).to.not.equal(0);
    expect(noGguf.stdout).to.match(/GGUF/);
    const missing = await runCli(["pull", "mlxm-test/tiny-GGUF:Q2_K"], env);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.contain("Q8_0").and.to.contain("F16");
  });

  it("refuses a GGUF llama.cpp could not load, keeping neither the model nor its bytes", async () => {
    const before = await snapshot(env);
    const pull = await runCli(["pull", "mlxm-test/bad-GGUF:Q8_0", "--json"], env);
    expect(pull.code).to.not.equal(0);
    expect(pull.stdout).to.contain("invalid_model").and.to.contain("head_count");
    expect(await snapshot(env), "no model and no file added").to.deep.equal(before);
    expect(before.models).to.include("mlxm-tiny");
    // The daemon is still serving.
    expect((await runCli(["run", "mlxm-tiny", "hi", "--max-tokens", "2"], env)).code).to.equal(0);
  });

  it("catches a corrupted byte with the digest and keeps the model invisible", async () => {
    hub.fault("mlxm-test/tiny-GGUF", "tiny-Q8_0.gguf", { kind: "corrupt", offset: 1000, times: Infinity });
    await runCli(["rm", "hf.co/mlxm-test/tiny-GGUF:Q8_0"], env); // an earlier test of this home may have pulled it
    const before = await snapshot(env);
    expect(before.models, "the model is not there already").not.to.include("hf.co/mlxm-test/tiny-GGUF:Q8_0");
    const pull = await runCli(["pull", "mlxm-test/tiny-GGUF:Q8_0"], env);
    expect(pull.code).to.not.equal(0);
    expect(pull.stderr).to.match(/digest mismatch/);
    const after = await snapshot(env);
    expect(after.models).to.deep.equal(before.models);
    expect(after.blobs.filter((f) => f.startsWith("sha256-") && !f.includes(".")), "no bad blob kept").to.deep.equal(before.blobs.filter((f) => f.startsWith("sha256-") && !f.includes(".")));
  });

  it("cancels a running pull", async () => {
    hub.throttleBytesPerSecond = 256 * 1024;
    const before = await snapshot(env);
    expect((await runCli(["pull", "mlxm-test/big-GGUF", "--detach"], env)).code).to.equal(0);
    const cancel = await runCli(["pull", "--cancel", "mlxm-test/big-GGUF", "--discard", "--json"], env);
    expect(cancel.code, cancel.stderr).to.equal(0);
    expect(parseJson(cancel)).to.include({ status: "cancelled" });
    expect(await snapshot(env), "--discard leaves no model and no partial file").to.deep.equal(before);
    expect((await runCli(["pull", "--cancel", "mlxm-test/big-GGUF"], env)).code, "nothing left to cancel").to.equal(4);
  });

  it("prints plain progress lines, not control codes, when output is not a terminal", async () => {
    const pull = await runCli(["pull", "mlxm-test/tiny-GGUF:F16"], env);
    expect(pull.code, pull.stderr).to.equal(0);
    expect(pull.stdout).to.match(/pulling [0-9a-f]{12}: 100%/);
    expect(pull.stdout + pull.stderr).not.to.match(/\x1b\[/);
  });

  describe("with a daemon of its own", () => {
    // These start their daemon with other settings or kill it: a home (and daemon) per test.
    let own: { env: CliEnv; cleanup: () => void } | undefined;
    beforeEach(async () => {
      own = await homeWithHub();
      env = own.env;
    });
    afterEach(async () => {
      await discard(own);
      own = undefined;
    });

    it("needs HF_TOKEN for a gated repo, and takes it from the CLI's environment without a daemon restart", async () => {
      const without = await runCli(["pull", "mlxm-test/gated-GGUF:Q8_0"], env);
      expect(without.code).to.not.equal(0);
      expect(without.stderr).to.contain("HF_TOKEN");
      expect(without.stderr).not.to.contain(TOKEN);
      const pidFile = path.join(env.home, "daemon.pid");
      const daemonPid = (JSON.parse(fs.readFileSync(pidFile, "utf8")) as { pid: number }).pid;

      // As the message says: set HF_TOKEN and pull again. The daemon started without it still serves the pull.
      const withToken = { ...env, extra: { ...env.extra, HF_TOKEN: TOKEN } };
      const pull = await runCli(["pull", "mlxm-test/gated-GGUF:Q8_0"], withToken);
      expect(pull.code, pull.stderr).to.equal(0);
      expect((JSON.parse(fs.readFileSync(pidFile, "utf8")) as { pid: number }).pid, "the same daemon").to.equal(daemonPid);
      expect(hub.cdnSawAuthorization, "the token stays on the Hub's origin").to.equal(false);
      // Not written anywhere in the home: not in the database, not in the daemon's log.
      const files = fs.readdirSync(env.home, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.parentPath.includes("blobs"));
      expect(files.length).to.be.greaterThan(2);
      for (const f of files) expect(fs.readFileSync(path.join(f.parentPath, f.name)).includes(TOKEN), f.name).to.equal(false);
    });

    it("resumes from the bytes on disk after the daemon is killed mid-pull", async () => {
      // The server stops sending at about half of the file; the pull sits there until the daemon is killed.
      hub.fault("mlxm-test/big-GGUF", "big-F32.gguf", { kind: "stall", afterBytes: Math.floor(big.length / 2), ms: 60_000, times: Infinity });
      const detach = await runCli(["pull", "mlxm-test/big-GGUF", "--detach"], env);
      expect(detach.code, detach.stderr).to.equal(0);
      await until(() => hub.bytesServed("mlxm-test/big-GGUF", "big-F32.gguf") >= Math.floor(big.length / 2), "half the file to be served");
      // Kill only once the downloader has checkpointed what it received (all but the chunks still in flight).
      const partial = partialPath(path.join(env.home, "blobs"), { sha256: sha256Hex(big) });
      const recorded = async () => {
        const progress = await readPartialProgress(partial, { digest: `sha256:${sha256Hex(big)}`, size: big.length });
        return (progress?.ranges ?? []).reduce((sum, [start, end]) => sum + (end - start), 0);
      };
      await until(async () => (await recorded()) >= Math.floor(big.length / 2) - 2 * MiB, "the received bytes to be checkpointed");
      const { pid } = JSON.parse(fs.readFileSync(path.join(env.home, "daemon.pid"), "utf8")) as { pid: number };
      process.kill(pid, "SIGKILL");
      await until(() => !isDaemonProcess(pid), "the killed daemon to be gone");
      const servedBeforeKill = hub.bytesServed("mlxm-test/big-GGUF", "big-F32.gguf");

      hub.clearFaults();
      // The next pull (or simply the daemon's restart) resumes; it must not start over.
      const resumed = await runCli(["pull", "mlxm-test/big-GGUF", "--json"], env);
      expect(resumed.code, resumed.stderr).to.equal(0);
      const total = hub.bytesServed("mlxm-test/big-GGUF", "big-F32.gguf");
      const refetched = total - big.length;
      // At most one chunk per connection is fetched twice (1 MiB chunks, 2 connections here).
      expect(refetched, `served ${servedBeforeKill} before the kill, ${total} in all for ${big.length}`).to.be.at.most(2 * MiB);
      expect(parseJson(await runCli(["ls", "--json"], env)).models.map((m: { name: string }) => m.name)).to.include("hf.co/mlxm-test/big-GGUF:F32");

      // The pull's span records where it resumed from and what it fetched (spans reach the store in batches: wait).
      let pullSpan: { attributes: Record<string, number | string> } | undefined;
      await until(async () => {
        const traces = parseJson(await runCli(["trace", "--json", "--limit", "50"], env)).traces as { trace_id: string; name: string }[];
        for (const t of traces) {
          const spans = parseJson(await runCli(["trace", t.trace_id, "--json"], env)).spans as { name: string; attributes: Record<string, number | string> }[];
          pullSpan = spans.find((s) => s.name.startsWith("pull ") && s.attributes["mlxm.pull.status"] === "completed");
          if (pullSpan) return true;
        }
        return false;
      }, "a completed pull span", 60_000);
      expect(Number(pullSpan!.attributes["mlxm.pull.resumed_from_bytes"])).to.be.greaterThan(0);
      expect(Number(pullSpan!.attributes["mlxm.pull.bytes_downloaded"])).to.be.lessThan(big.length);
      expect(pullSpan!.attributes).to.have.property("mlxm.pull.verify_ms");
      expect(pullSpan!.attributes).to.have.property("mlxm.pull.retries");
    });
  });
});
