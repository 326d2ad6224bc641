/**
 * A trace backend that is down never holds the daemon hostage (issue 16): with an OTLP collector that refuses
 * connections, one that accepts and never answers, and a Logfire whose backend never answers, the daemon serves
 * requests, reports the exporter's trouble, stops on SIGTERM (and `mlxm daemon stop`) without SIGKILL, and its
 * local span store holds every span of the requests made.
 *
 * The export timeout is set far beyond the test's own timeout: a shutdown that waited on the backend would hang
 * the test instead of passing, so no duration is asserted.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { Store } from "../../src/daemon/store/store.js";
import { RUN_JS, cliEnv, freshCliEnv, parseJson, runCli, type CliEnv } from "../helpers/cli.js";
import { refusingEndpoint, silentEndpoint } from "../helpers/otlp-receiver.js";

const COMMANDS = 3;

describe("an unreachable trace backend (e2e)", function () {
  this.timeout(240_000);
  let env: CliEnv;
  let cleanup: () => void;
  let silent: Awaited<ReturnType<typeof silentEndpoint>>;

  beforeEach(async () => {
    ({ env, cleanup } = await freshCliEnv());
    silent = await silentEndpoint();
  });
  afterEach(async () => {
    await runCli(["daemon", "stop"], env);
    await silent.close();
    cleanup();
  });

  const backends: [string, () => Promise<Record<string, string>>][] = [
    ["an OTLP collector that refuses connections", async () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: await refusingEndpoint() })],
    ["an OTLP collector that never answers", async () => ({ OTEL_EXPORTER_OTLP_ENDPOINT: silent.url })],
  ];

  for (const [name, backend] of backends) {
    it(`${name}: requests are served, the exporter's state is reported, SIGTERM stops the daemon at once, no span is lost locally`, async () => {
      const extra = { ...(await backend()), MLXM_TRACE_EXPORT_TIMEOUT: "1h" };
      const withBackend = { ...env, extra };
      const child = spawn(process.execPath, [RUN_JS, "serve"], { env: cliEnv(withBackend), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on("exit", (code, signal) => r([code, signal])));
      try {
        await waitFor(() => out.includes("mlxm daemon ready"), 150_000, () => out);
        for (let i = 0; i < COMMANDS; i++) expect((await runCli(["ls"], withBackend)).code).to.equal(0);

        // The status shows the exporter, and the spans it holds or could not send.
        let status: { exporters: { name: string; queued: number; dropped: number; last_error: string | null }[] } | undefined;
        await waitFor(async () => {
          status = parseJson(await runCli(["daemon", "status", "--json"], withBackend));
          const e = status!.exporters[0];
          return Boolean(e && e.queued + e.dropped > 0);
        }, 60_000, () => JSON.stringify(status));
        expect(status!.exporters.map((e) => e.name)).to.deep.equal(["otlp"]);
      } finally {
        child.kill("SIGTERM");
      }
      const [code, signal] = await exited;
      expect(signal, "not killed").to.equal(null);
      expect(code).to.equal(0);
      await expectEveryCommandStored(env.home);
    });
  }

  it("a Logfire token whose backend never answers: `mlxm daemon stop` stops the daemon without SIGKILL, no span is lost locally", async () => {
    const withLogfire = { ...env, extra: { LOGFIRE_TOKEN: "pylf_v1_us_0123456789abcdefghijklmnopqrstuvwxyz", LOGFIRE_BASE_URL: silent.url, MLXM_TRACE_EXPORT_TIMEOUT: "1h" } };
    expect((await runCli(["daemon", "start"], withLogfire)).code).to.equal(0);
    for (let i = 0; i < COMMANDS; i++) expect((await runCli(["ls"], withLogfire)).code).to.equal(0);
    await waitFor(() => silent.connections() > 0, 60_000, () => "no connection to the Logfire stand-in");
    const health = parseJson(await runCli(["daemon", "status", "--json"], withLogfire));
    expect(health.exporters.map((e: { name: string; endpoint: string }) => [e.name, e.endpoint])).to.deep.equal([["logfire", silent.url]]);
    expect(JSON.stringify(health)).not.to.contain("pylf_v1_us_0123456789");

    const stop = await runCli(["daemon", "stop"], withLogfire);
    expect(stop.code, stop.stderr).to.equal(0);
    expect(stop.stdout + stop.stderr).not.to.match(/killed/i);
    await expectEveryCommandStored(env.home);
  });
});

/** Every `mlxm ls` is in the local store: its root and the daemon's GET /api/tags span beneath it. */
async function expectEveryCommandStored(home: string): Promise<void> {
  const store = await Store.open(path.join(home, "mlxm.db"));
  try {
    const rows = await store.db.selectFrom("spans").select(["trace_id", "span_id", "parent_span_id", "name", "attributes_json"]).execute();
    const roots = rows.filter((r) => r.name === "mlxm ls" && r.parent_span_id === null);
    expect(roots).to.have.length(COMMANDS);
    for (const root of roots) {
      const server = rows.find((r) => r.parent_span_id === root.span_id && JSON.parse(r.attributes_json)["http.route"] === "/api/tags");
      expect(server, `GET /api/tags under ${root.trace_id}`).to.exist;
    }
  } finally {
    await store.close();
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met in time: ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
