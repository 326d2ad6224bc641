import { expect } from "chai";
import { stat } from "node:fs/promises";
import { resolveConfig } from "../../src/config/config.js";
import { startDaemon } from "../../src/daemon/main.js";
import { BUILTIN_MODEL_NAME, builtinModelPath } from "../../src/daemon/engine/builtin-model.js";
import { leaseLlama, type LlamaLease } from "../../src/daemon/engine/llama-runtime.js";
import { silentLogger } from "../../src/observability/logger.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

describe("local engine in the daemon", function () {
  let d: TestDaemon;
  let hold: LlamaLease;

  before(async () => {
    hold = leaseLlama({ threads: 1 });
    d = await startTestDaemon();
  });
  after(async () => {
    await d?.stop();
    await hold?.release();
  });

  it("generates the built-in mlxm-tiny on first start and registers it", async () => {
    const file = builtinModelPath(d.home);
    const { models } = await d.client.list();
    const tiny = models.find((m) => m.name === BUILTIN_MODEL_NAME);
    expect(tiny, "mlxm-tiny in /api/tags").to.exist;
    expect(tiny!.details).to.include({ format: "gguf", family: "llama", quantization_level: "Q8_0" });
    expect(tiny!.size).to.equal((await stat(file)).size);
    expect(tiny!.digest).to.match(/^[0-9a-f]{64}$/);
  });

  it("chats with mlxm-tiny with no download, and /api/ps shows it loaded", async () => {
    const res = await fetch(`${d.baseUrl}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: BUILTIN_MODEL_NAME,
        messages: [{ role: "user", content: "Hello" }],
        stream: false,
        options: { num_predict: 8, seed: 1 },
      }),
    });
    expect(res.status, await res.clone().text()).to.equal(200);
    const body = (await res.json()) as { done: boolean; eval_count?: number; message: { content: string } };
    expect(body.done).to.equal(true);
    expect(body.eval_count).to.equal(8);
    expect(body.message.content.length).to.be.greaterThan(0);

    const ps = await d.client.ps();
    expect(ps.models.map((m) => m.name)).to.deep.equal([BUILTIN_MODEL_NAME]);
    expect(ps.models[0]).to.include({ size_vram: 0, active_requests: 0 });
    expect(ps.models[0]!.expires_at).to.be.a("string");
  });

  it("keeps the built-in model's file across restarts of the same home", async () => {
    const file = builtinModelPath(d.home);
    const before = await stat(file);
    const config = resolveConfig({}, { MLXM_HOME: d.home, MLXM_HOST: "127.0.0.1:0" });
    await d.daemon.close();
    const again = await startDaemon({ config, logger: silentLogger(), version: "0.0.0-test" });
    try {
      expect((await stat(file)).mtimeMs).to.equal(before.mtimeMs);
    } finally {
      await again.close();
    }
  });
});
