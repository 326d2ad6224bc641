/**
 * Observability end to end, with the built CLI and a real background daemon: one trace from command to SQL,
 * OTLP export when configured, nothing sent (and no wait at exit) when not, and no secret anywhere.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { RUN_JS, cliEnv, parseJson, runCli, type CliEnv, freshCliEnv } from "../helpers/cli.js";
import { silentEndpoint, startOtlpReceiver } from "../helpers/otlp-receiver.js";
import { until } from "../helpers/until.js";

const SECRET = "sk-e2esecret0123456789abcdefXYZ";

describe("observability (e2e)", function () {
  // Bounds a broken run only: a daemon start can take half a minute with another e2e file running beside it.
  this.timeout(180_000);
  let env: CliEnv;
  let cleanup: () => void;

  // A daemon start is most of an e2e test's time: the tests that only read traces share one daemon, and the last
  // of them stops it to read everything it flushed.
  describe("one daemon, default settings", () => {
    before(async () => {
      ({ env, cleanup } = await freshCliEnv());
      expect((await runCli(["daemon", "start"], env)).code).to.equal(0);
    });
    after(async () => {
      await runCli(["daemon", "stop"], env);
      cleanup();
    });

    it("one trace: the CLI command span, the daemon's HTTP span with http.route, and a SQLite span beneath", async () => {
      const ls = await runCli(["ls", "--json"], env);
      expect(ls.code, ls.stderr).to.equal(0);

      const res = await runCli(["trace", "--last", "--json"], env);
      expect(res.code, res.stderr).to.equal(0);
      const trace = parseJson(res);
      const spans = trace.spans as { span_id: string; parent_span_id: string | null; name: string; service: string; kind: number; attributes: Record<string, unknown> }[];
      const root = spans.find((s) => s.parent_span_id === null)!;
      expect(root.name).to.equal("mlxm ls");
      expect(root.service).to.equal("mlxm-cli");
      expect(root.attributes["mlxm.flag.json"]).to.equal(true);
      expect(new Set(spans.map((s: { span_id: string }) => s.span_id)).size).to.equal(spans.length);

      const server = spans.find((s) => s.service === "mlxm-daemon" && s.kind === 1 && s.attributes["http.route"] === "/api/tags");
      expect(server, JSON.stringify(spans.map((s) => s.name))).to.exist;
      expect(server!.parent_span_id).to.equal(root.span_id);
      expect(server!.attributes["mlxm.request_id"]).to.match(/^req_/);

      const descendsFrom = (s: (typeof spans)[number], ancestor: string): boolean => {
        for (let p = s.parent_span_id; p; p = spans.find((x) => x.span_id === p)?.parent_span_id ?? null) if (p === ancestor) return true;
        return false;
      };
      const query = spans.find((s) => s.attributes["db.system.name"] === "sqlite" && descendsFrom(s, server!.span_id));
      expect(query, "a SQLite span under the HTTP span").to.exist;
      expect(String(query!.attributes["db.query.text"])).to.match(/select .* from "models"/i);

      // The human view lists it too.
      const list = await runCli(["trace"], env);
      expect(list.stdout).to.contain("mlxm ls");
      const waterfall = await runCli(["trace", trace.trace_id.slice(0, 12)], env);
      expect(waterfall.stdout).to.contain("GET /api/tags").and.to.contain("SELECT models");

      // pino log lines written inside the request carry its trace and span ids (the log is written asynchronously).
      const logPath = path.join(env.home, "logs", "daemon.log");
      const tagsLine = () => fs.readFileSync(logPath, "utf8").split("\n").find((l) => l.includes('"path":"/api/tags"') && l.includes(trace.trace_id));
      await until(() => tagsLine() !== undefined, "the access log line for /api/tags");
      expect(JSON.parse(tagsLine()!)).to.include({ trace_id: trace.trace_id, span_id: server!.span_id });
    });

    it("records a failed command as an error trace", async () => {
      const bad = await runCli(["trace", "0123456789abcdef0123456789abcdef"], env);
      expect(bad.code).to.equal(4);
      const errors = parseJson(await runCli(["trace", "--errors", "--json"], env));
      const failed = errors.traces.find((t: { name: string }) => t.name === "mlxm trace");
      expect(failed).to.exist;
      expect(failed.status).to.equal("error");
    });

    it("keeps the span of a command stopped with Ctrl-C, as interrupted (exit 130)", async () => {
      // `trace --follow` runs until stopped; Ctrl-C used to end it before its span was handed over.
      const follower = spawn(process.execPath, [RUN_JS, "trace", "--follow"], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      follower.stdout.on("data", (d) => (out += d));
      const exited = new Promise<number | null>((r) => follower.on("exit", r));
      await until(() => out.length > 0, "the follower's first page");
      follower.kill("SIGINT");
      expect(await exited).to.equal(130);
      const errors = parseJson(await runCli(["trace", "--errors", "--json"], env));
      const interrupted = errors.traces.find((t: { name: string }) => t.name === "mlxm trace");
      expect(interrupted, JSON.stringify(errors.traces.map((t: { name: string }) => t.name))).to.exist;
      const trace = parseJson(await runCli(["trace", interrupted.trace_id, "--json"], env));
      const root = trace.spans.find((sp: { parent_span_id: string | null }) => sp.parent_span_id === null);
      expect(root.attributes).to.include({ "process.exit.code": 130, "error.type": "interrupted" });
    });

    it("never lets a secret reach a span, the span store or the log", async () => {
      const base = `http://127.0.0.1:${env.port}`;
      await fetch(`${base}/api/tags?api_key=${SECRET}`, { headers: { authorization: `Bearer ${SECRET}`, "x-api-key": SECRET } });
      await fetch(`${base}/api/nope?token=${SECRET}`, { headers: { authorization: `Bearer ${SECRET}` } });
      const withFlag = await runCli(["ls", "--host", `127.0.0.1:${env.port}`], { ...env, extra: { MLXM_LOG_LEVEL: "trace" } });
      expect(withFlag.code).to.equal(0);
      // Stopped, so every span is flushed to the store and every log line written.
      expect((await runCli(["daemon", "stop"], env)).code).to.equal(0);

      const stored = ["mlxm.db", "mlxm.db-wal", path.join("logs", "daemon.log")]
        .map((f) => path.join(env.home, f))
        .filter((f) => fs.existsSync(f))
        .map((f) => fs.readFileSync(f).toString("latin1"))
        .join("\n");
      expect(stored).to.contain("/api/tags"); // the requests were recorded…
      expect(stored).to.contain("/api/nope");
      expect(stored).not.to.contain(SECRET); // …without the secret
    });
  });

  describe("a daemon of its own", () => {
    beforeEach(async () => {
      ({ env, cleanup } = await freshCliEnv());
    });
    afterEach(async () => {
      await runCli(["daemon", "stop"], env);
      cleanup();
    });

    it("--follow gets traces pushed as they finish, and ends when the daemon stops", async () => {
      expect((await runCli(["daemon", "start"], env)).code).to.equal(0);
      const follower = spawn(process.execPath, [RUN_JS, "trace", "--follow", "--json"], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      follower.stdout.on("data", (d) => (out += d));
      const exited = new Promise<number | null>((r) => follower.on("exit", r));
      try {
        // Wait until the follower has fetched its first list (the daemon logs the request once answered): `ps` starts
        // after that, so its trace can only reach the follower by following.
        const log = path.join(env.home, "logs", "daemon.log");
        const tracesRequests = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter((l) => l.includes('"path":"/api/traces')).length : 0);
        await until(() => tracesRequests() > 0, "the follower's first request");
        expect((await runCli(["ps"], env)).code).to.equal(0);
        await until(() => out.includes('"name":"mlxm ps"'), "the ps trace to be followed", 60_000);
        const line = out.split("\n").find((l) => l.includes('"name":"mlxm ps"'));
        expect(line, out).to.exist;
        expect(JSON.parse(line!)).to.include({ status: "ok" });
        expect(JSON.parse(line!)).to.include({ service: "mlxm-cli" });
        // Stopping the daemon ends the stream, and with it the follower (it does not hold the drain open).
        expect((await runCli(["daemon", "stop"], env)).code).to.equal(0);
        expect(await exited).to.equal(0);
        // Only NDJSON: every line one trace (before, a multi-line {"traces": [...]} document followed).
        for (const l of out.trim().split("\n")) expect(JSON.parse(l), l).to.have.property("trace_id");
      } finally {
        follower.kill("SIGINT");
      }
    });


    it("exports whole traces to an OTLP collector: the CLI's root, the daemon's spans beneath, content and GenAI metrics", async () => {
      const receiver = await startOtlpReceiver();
      try {
        const withOtlp = { ...env, extra: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, MLXM_TRACE_CONTENT: "1" } };
        expect((await runCli(["daemon", "start"], withOtlp)).code).to.equal(0);
        expect((await runCli(["ls"], withOtlp)).code).to.equal(0);
        expect((await runCli(["trace", "0123456789abcdef0123456789abcdef"], withOtlp)).code).to.equal(4);
        const run = await runCli(["run", "mlxm-tiny", "hello there", "--max-tokens", "4", "--system", "be brief"], withOtlp);
        expect(run.code, run.stderr).to.equal(0);
        expect((await runCli(["daemon", "stop"], withOtlp)).code).to.equal(0);

        const spans = receiver.spans;
        const cliRoot = (name: string) => spans.find((s) => s.name === name && s.service === "mlxm-cli");
        const ls = cliRoot("mlxm ls");
        expect(ls, JSON.stringify(spans.map((s) => `${s.service}:${s.name}`))).to.exist;
        expect(ls!.parentSpanId).to.equal(undefined);
        expect(ls!.statusCode).to.equal(1);
        expect(ls!.resource).to.include({ "service.name": "mlxm-cli" });
        expect(ls!.resource["service.version"]).to.be.a("string");
        expect(ls!.resource["process.pid"]).to.be.a("number");
        const tags = spans.find((s) => s.service === "mlxm-daemon" && s.attributes["http.route"] === "/api/tags");
        expect(tags, "GET /api/tags server span").to.exist;
        expect(tags!.traceId).to.equal(ls!.traceId);
        expect(tags!.parentSpanId).to.equal(ls!.spanId);

        const failed = cliRoot("mlxm trace");
        expect(failed, "the failed command's root").to.exist;
        expect(failed!.statusCode).to.equal(2);
        expect(failed!.attributes["process.exit.code"]).to.equal(4);
        expect(spans.some((s) => s.traceId === failed!.traceId && s.service === "mlxm-daemon" && s.parentSpanId === failed!.spanId)).to.equal(true);

        // Measured values arrive as numbers, and the conversation in the GenAI shape (MLXM_TRACE_CONTENT=1).
        const runRoot = cliRoot("mlxm run");
        const generation = spans.find((s) => s.traceId === runRoot?.traceId && s.attributes["gen_ai.operation.name"] === "chat");
        expect(generation, "the generation span").to.exist;
        expect(generation!.attributes["gen_ai.server.time_to_first_token_ms"]).to.be.a("number");
        expect(generation!.attributes["gen_ai.usage.output_tokens"]).to.be.a("number");
        expect(JSON.parse(String(generation!.attributes["gen_ai.input.messages"]))).to.deep.equal([{ role: "user", parts: [{ type: "text", content: "hello there" }] }]);
        expect(JSON.parse(String(generation!.attributes["gen_ai.system_instructions"]))).to.deep.equal([{ type: "text", content: "be brief" }]);
        const output = JSON.parse(String(generation!.attributes["gen_ai.output.messages"])) as { role: string; parts: { type: string; content: string }[] }[];
        expect(output[0]!.role).to.equal("assistant");
        expect(output[0]!.parts[0]!.type).to.equal("text");

        // The GenAI metrics /metrics serves, under their semantic-convention names, pushed at the latest on shutdown.
        const names = new Set(receiver.metrics.map((m) => m.name));
        for (const name of ["gen_ai.client.token.usage", "gen_ai.server.time_to_first_token", "gen_ai.server.request.duration"]) expect(names, name).to.include(name);
        const usage = receiver.metrics.filter((m) => m.name === "gen_ai.client.token.usage").at(-1)!;
        expect(usage.service).to.equal("mlxm-daemon");
        const output_points = usage.points.filter((p) => p.attributes["gen_ai.token.type"] === "output");
        expect(output_points.map((p) => p.attributes["gen_ai.response.model"])).to.include("mlxm-tiny");
      } finally {
        await receiver.close();
      }
    });

    it("keeps a command's span when no daemon answered, stores it when one starts and forwards it to the collector", async () => {
      const receiver = await startOtlpReceiver();
      try {
        const withOtlp = { ...env, extra: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } };
        expect((await runCli(["ls", "--no-autostart"], withOtlp)).code).to.equal(3);
        expect(fs.existsSync(path.join(env.home, "spool", "cli-spans.jsonl"))).to.equal(true);
        expect((await runCli(["daemon", "start"], withOtlp)).code).to.equal(0);
        const list = parseJson(await runCli(["trace", "--errors", "--json"], withOtlp));
        expect(list.traces.map((t: { name: string }) => t.name)).to.include("mlxm ls");
        expect((await runCli(["daemon", "stop"], withOtlp)).code).to.equal(0);
        const spooled = receiver.spans.find((s) => s.name === "mlxm ls" && s.service === "mlxm-cli");
        expect(spooled, "the spooled span, late but whole").to.exist;
        expect(spooled!.statusCode).to.equal(2);
        expect(spooled!.attributes["process.exit.code"]).to.equal(3);
      } finally {
        await receiver.close();
      }
    });

    it("with nothing configured, sends nothing anywhere and exits without waiting on any exporter", async function () {
      // A backend where the OpenTelemetry defaults point (localhost:4318) that accepts and never answers: an export
      // attempt is seen, and would hold the exit until its own timeout. Shutdown's bound for exporters is set far
      // beyond this test's timeout, so a shutdown that waited on one fails here instead of passing slowly; no
      // duration is asserted.
      const trap = await silentEndpoint(4318).catch(() => undefined);
      if (!trap) this.skip();
      try {
        const child = spawn(process.execPath, [RUN_JS, "serve"], { env: cliEnv({ ...env, extra: { MLXM_TRACE_EXPORT_GRACE: "1h" } }), stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        const exited = new Promise<number | null>((r) => child.on("exit", r));
        // The deadline only bounds a broken start: a loaded machine can take well over ten seconds.
        await until(() => out.includes("mlxm daemon ready"), "the foreground daemon to say it is ready", 120_000);
        expect((await runCli(["ls"], env)).code).to.equal(0);
        const status = parseJson(await runCli(["daemon", "status", "--json"], env));
        expect(status.exporters, "no remote exporter").to.deep.equal([]);
        child.kill("SIGTERM");
        expect(await exited).to.equal(0);
        expect(out).to.contain("mlxm daemon stopped");
        expect(trap.connections(), "connections to localhost:4318").to.equal(0);
      } finally {
        await trap.close();
      }
    });
  });
});
