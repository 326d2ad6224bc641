/**
 * The OpenAI and Anthropic SDKs, under the daemon's observability setup, produce GenAI spans with token usage in
 * the local span store, one trace with the outbound HTTP beneath, and no API key anywhere in it.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../../src/daemon/store/store.js";
import { FAKE_ANTHROPIC_USAGE, startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { FAKE_OPENAI_USAGE, startFakeOpenAI } from "../helpers/fake-openai.js";
import { makeTempHome } from "../helpers/temp-home.js";

const PROBE = fileURLToPath(new URL("../fixtures/sdk-tracing-probe.ts", import.meta.url));
const OPENAI_KEY = "sk-probe0secret0openai0key0123456789";
const ANTHROPIC_KEY = "sk-ant-probe0secret0anthropic0key012345";

describe("SDK tracing (OpenAI and Anthropic against local fakes)", function () {
  this.timeout(60_000);

  it("records GenAI spans with token usage and redacts the API keys", async () => {
    const openai = await startFakeOpenAI({ apiKey: OPENAI_KEY });
    const anthropic = await startFakeAnthropic({ apiKey: ANTHROPIC_KEY });
    const { home, cleanup } = makeTempHome();
    try {
      const child = spawn(process.execPath, ["--import", "tsx", PROBE], {
        env: {
          ...process.env,
          MLXM_HOME: home,
          PROBE_OPENAI_URL: `${openai.url}/v1`,
          PROBE_OPENAI_KEY: OPENAI_KEY,
          PROBE_ANTHROPIC_URL: anthropic.url,
          PROBE_ANTHROPIC_KEY: ANTHROPIC_KEY,
          LOGFIRE_TOKEN: "",
          OTEL_EXPORTER_OTLP_ENDPOINT: "",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let stdout = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.stdout.on("data", (d) => (stdout += d));
      const code = await new Promise<number | null>((r) => child.on("exit", r));
      expect(code, stderr).to.equal(0);
      // logfire-node's own processors (an exporter to nowhere, its pending-span copies, evals) are gone; mlxm's stay.
      // Trace ids come from mlxm's generator, not logfire's BigInt ULIDs (sdk-overrides.ts).
      const sdk = JSON.parse(stdout.split("\n")[0]!) as { processors: string[]; traceIdSource: string };
      expect(sdk.processors).to.deep.equal(["RedactingSpanProcessor", "BatchSpanProcessor"]);
      expect(sdk.traceIdSource).to.contain("ids.generateTraceId()");
      expect(openai.requests).to.have.length(2);
      expect(anthropic.requests).to.have.length(2);

      const store = await Store.open(path.join(home, "mlxm.db"));
      const rows = await store.db.selectFrom("spans").selectAll().execute();
      await store.close();
      const spans = rows.map((r) => ({ ...r, attributes: JSON.parse(r.attributes_json) as Record<string, unknown> }));

      const genai = (provider: string) =>
        spans.filter((s) => String(s.attributes["gen_ai.provider.name"] ?? s.attributes["gen_ai.system"] ?? "").includes(provider));
      const openaiSpans = genai("openai");
      const anthropicSpans = genai("anthropic");
      expect(openaiSpans.map((s) => s.attributes["gen_ai.usage.input_tokens"])).to.include(FAKE_OPENAI_USAGE.prompt_tokens);
      expect(openaiSpans.map((s) => s.attributes["gen_ai.usage.output_tokens"])).to.include(FAKE_OPENAI_USAGE.completion_tokens);
      expect(anthropicSpans.map((s) => s.attributes["gen_ai.usage.output_tokens"])).to.include(FAKE_ANTHROPIC_USAGE.output_tokens);
      expect(anthropicSpans.map((s) => s.attributes["gen_ai.usage.input_tokens"])).to.include(FAKE_ANTHROPIC_USAGE.input_tokens);

      // One trace: everything descends from the probe span. Its id starts with the clock, as Logfire's ULIDs do.
      expect(new Set(spans.map((s) => s.trace_id)).size).to.equal(1);
      const startedMs = Number.parseInt(spans[0]!.trace_id.slice(0, 12), 16);
      expect(Math.abs(startedMs - Date.now())).to.be.below(60_000);
      // Outbound HTTP (fetch/undici) is traced too.
      expect(spans.some((s) => s.kind === 2 && String(s.attributes["url.full"] ?? "").startsWith(openai.url))).to.equal(true);

      // Upstreams received exactly one traceparent each (the Anthropic SDK's own propagation is off).
      for (const r of anthropic.requests) expect(String(r.headers.traceparent ?? "")).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

      const everything = JSON.stringify(rows);
      expect(everything).not.to.contain(OPENAI_KEY);
      expect(everything).not.to.contain(ANTHROPIC_KEY);
      // Prompt text is recorded only when MLXM_TRACE_CONTENT is on.
      expect(everything).not.to.contain("secret prompt text");
    } finally {
      await openai.close();
      await anthropic.close();
      cleanup();
    }
  });
});
