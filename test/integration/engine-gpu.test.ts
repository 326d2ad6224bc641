/**
 * The GPU default on a machine without a GPU (this one, and CI): `auto` falls back to the CPU and says so everywhere
 * a user looks; `off` is the CPU by request. No test here needs a GPU.
 */
import { expect } from "chai";
import { BUILTIN_MODEL_NAME } from "../../src/daemon/engine/builtin-model.js";
import type { HealthResponse } from "../../src/protocol/native.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

async function healthWithAccelerator(d: TestDaemon): Promise<HealthResponse> {
  for (let i = 0; i < 300; i++) {
    const health = await d.client.health();
    if (health.accelerator) return health;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the engine never reported its compute backend");
}

describe("compute backend (no GPU here)", function () {
  let d: TestDaemon;
  after(async () => d?.stop());

  it("auto falls back to the CPU and reports it in health, /api/ps and /api/show", async () => {
    d = await startTestDaemon({ MLXM_GPU: "auto" });
    const { accelerator } = await healthWithAccelerator(d);
    expect(accelerator).to.deep.include({ requested: "auto", backend: "cpu", devices: [], vram_total: 0 });

    const res = await fetch(`${d.baseUrl}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: BUILTIN_MODEL_NAME, prompt: "hi", stream: false, options: { num_predict: 2 } }),
    });
    expect(res.status).to.equal(200);

    const [loaded] = (await d.client.ps()).models;
    expect(loaded).to.include({ name: BUILTIN_MODEL_NAME, size_vram: 0 });
    expect(loaded!.size).to.be.greaterThan(0);
    expect(loaded!.offload).to.deep.equal({ backend: "cpu", gpu_layers: 0, total_layers: loaded!.offload!.total_layers });
    expect(loaded!.offload!.total_layers).to.be.greaterThan(0);

    const show = await d.client.show(BUILTIN_MODEL_NAME);
    expect(show.mlxm.offload).to.deep.equal(loaded!.offload);
  });

  it("off runs on the CPU and says it was asked to", async () => {
    await d.stop();
    d = await startTestDaemon({ MLXM_GPU: "off" });
    const { accelerator } = await healthWithAccelerator(d);
    expect(accelerator).to.deep.include({ requested: "off", backend: "cpu" });
  });
});
