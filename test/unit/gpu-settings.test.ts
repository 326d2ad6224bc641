import { expect } from "chai";
import { resolveConfig, ConfigError } from "../../src/config/config.js";
import { parseGpu, parseGpuLayers } from "../../src/config/gpu-settings.js";
import { checkBackend, describeAccelerator, GpuUnavailableError, gpuUnavailable, llamaGpuOption } from "../../src/daemon/engine/accelerator.js";
import { processorLabel } from "../../src/cli/processor-label.js";

describe("GPU settings", () => {
  it("defaults to auto with auto layers, and reads MLXM_GPU and MLXM_GPU_LAYERS", () => {
    expect(resolveConfig({}).engine).to.include({ gpu: "auto", gpuLayers: "auto" });
    expect(resolveConfig({ MLXM_GPU: "CUDA", MLXM_GPU_LAYERS: "12" }).engine).to.include({ gpu: "cuda", gpuLayers: 12 });
    expect(resolveConfig({ MLXM_GPU: "off", MLXM_GPU_LAYERS: "max" }).engine).to.include({ gpu: "off", gpuLayers: "max" });
  });

  it("accepts cpu, false and none as off, and refuses anything else by name", () => {
    for (const off of ["cpu", "false", "none", "0"]) expect(parseGpu("MLXM_GPU", off)).to.equal("off");
    for (const ok of ["auto", "metal", "vulkan"]) expect(parseGpu("MLXM_GPU", ok)).to.equal(ok);
    expect(() => parseGpu("MLXM_GPU", "tpu")).to.throw(ConfigError, /MLXM_GPU must be one of auto, off, metal, cuda, vulkan, got "tpu"/);
    expect(() => parseGpuLayers("MLXM_GPU_LAYERS", "-3")).to.throw(ConfigError, /MLXM_GPU_LAYERS/);
    expect(() => parseGpuLayers("MLXM_GPU_LAYERS", "half")).to.throw(ConfigError, /auto, max or a number/);
  });

  it("asks node-llama-cpp for no GPU when off, and for the named backend otherwise", () => {
    expect(llamaGpuOption("off")).to.equal(false);
    expect(llamaGpuOption("auto")).to.equal("auto");
    expect(llamaGpuOption("vulkan")).to.equal("vulkan");
  });

  it("refuses a named backend the binding did not load, naming what is missing", () => {
    expect(() => checkBackend("auto", { gpu: false })).to.not.throw();
    expect(() => checkBackend("auto", { gpu: "cuda" })).to.not.throw();
    expect(() => checkBackend("cuda", { gpu: "cuda" })).to.not.throw();
    expect(() => checkBackend("off", { gpu: false })).to.not.throw();
    // node-llama-cpp answers `metal` on Linux with a CPU binding: that must not pass for Metal.
    expect(() => checkBackend("metal", { gpu: false })).to.throw(GpuUnavailableError, /MLXM_GPU=metal.*fell back to the CPU.*only available on macOS.*MLXM_GPU=auto/);
    expect(() => checkBackend("cuda", { gpu: "vulkan" })).to.throw(GpuUnavailableError, /runs on vulkan.*NVIDIA GPU/);
    expect(() => checkBackend("off", { gpu: "metal" })).to.throw(GpuUnavailableError, /already runs on metal/);
    expect(gpuUnavailable("vulkan", "no binary").message).to.match(/^MLXM_GPU=vulkan, but the VULKAN backend cannot be used on this machine \(no binary\)\. Vulkan needs/);
  });

  it("describes the backend, devices and VRAM from the binding's state", async () => {
    const gib = 2 ** 30;
    const fakeGpu = {
      gpu: "cuda" as const,
      getVramState: async () => ({ total: 80 * gib, used: 20 * gib, free: 60 * gib, unifiedSize: 0 }),
      getGpuDeviceNames: async () => ["NVIDIA H100 80GB HBM3"],
      buildType: "prebuilt" as const,
      systemInfo: "CPU : AVX2 = 1 | FMA = 1 |",
    };
    expect(await describeAccelerator(fakeGpu, "auto")).to.deep.equal({
      requested: "auto",
      backend: "cuda",
      devices: ["NVIDIA H100 80GB HBM3"],
      vramTotalBytes: 80 * gib,
      vramUsedBytes: 20 * gib,
      vramFreeBytes: 60 * gib,
      unifiedMemoryBytes: 0,
      binary: "prebuilt",
      cpuFeatures: "CPU : AVX2 = 1 | FMA = 1 |",
    });
    const cpu = { ...fakeGpu, gpu: false as const, getGpuDeviceNames: async () => ["should not be asked"], buildType: "localBuild" as const };
    expect(await describeAccelerator(cpu, "off")).to.include({ backend: "cpu", requested: "off", binary: "local" }).and.have.property("devices").that.deep.equals([]);
  });

  it("labels where a model runs as ollama ps does", () => {
    expect(processorLabel(1000, 0)).to.equal("100% CPU");
    expect(processorLabel(1000, 1000)).to.equal("100% GPU");
    expect(processorLabel(1000, 520)).to.equal("48%/52% CPU/GPU");
    expect(processorLabel(100_000, 99_999)).to.equal("1%/99% CPU/GPU");
    expect(processorLabel(0, 0)).to.equal("100% CPU");
  });
});
