/**
 * Which compute backend the engine runs on: asking node-llama-cpp for the one `MLXM_GPU` names, checking that a named
 * backend really loaded (node-llama-cpp quietly falls back to the CPU for some, e.g. `metal` on Linux), and
 * describing the result for `/api/health`, `mlxm daemon status` and spans.
 */
import type { Llama, LlamaOptions } from "node-llama-cpp";
import type { GpuSetting } from "../../config/config.js";

export type GpuBackend = "metal" | "cuda" | "vulkan";

/** What the engine runs on, as reported to users. VRAM figures are 0 on the CPU. */
export interface AcceleratorInfo {
  /** What MLXM_GPU asked for. */
  requested: GpuSetting;
  /** What was chosen: a GPU backend, or "cpu". */
  backend: GpuBackend | "cpu";
  /** GPU device names (empty on the CPU). */
  devices: string[];
  vramTotalBytes: number;
  vramUsedBytes: number;
  vramFreeBytes: number;
  /** Memory the GPU shares with the CPU (Apple Silicon): VRAM there is not extra memory. */
  unifiedMemoryBytes: number;
  /**
   * Which llama.cpp binary node-llama-cpp loaded: "local" (compiled on this machine by `mlxm engine build`, tuned to
   * its CPU) or "prebuilt" (the generic one from npm).
   */
  binary: "local" | "prebuilt";
  /** ggml's description of the CPU features the binary uses (e.g. "CPU : SSE3 = 1 | AVX2 = 1 | ..."). */
  cpuFeatures: string;
}

/** A backend named in MLXM_GPU that cannot be used on this machine: a start-up error. */
export class GpuUnavailableError extends Error {
  readonly code = "gpu_unavailable";
  constructor(message: string) {
    super(message);
    this.name = "GpuUnavailableError";
  }
}

/** node-llama-cpp's `gpu` option for a setting. */
export function llamaGpuOption(setting: GpuSetting): NonNullable<LlamaOptions["gpu"]> {
  return setting === "off" ? false : setting;
}

const WHAT_IT_NEEDS: Record<GpuBackend, string> = {
  metal: "Metal is only available on macOS (Apple Silicon, or an Intel Mac with a Metal GPU)",
  cuda: "CUDA needs an NVIDIA GPU with its driver and the CUDA runtime libraries, and node-llama-cpp's CUDA binary (@node-llama-cpp/<platform>-cuda) installed",
  vulkan: "Vulkan needs a GPU with a Vulkan driver (libvulkan and the vendor's ICD) and node-llama-cpp's Vulkan binary (@node-llama-cpp/<platform>-vulkan) installed",
};

/** The error for a named backend that could not be had, saying what is missing and how to go on without it. */
export function gpuUnavailable(setting: GpuBackend, cause: string): GpuUnavailableError {
  return new GpuUnavailableError(
    `MLXM_GPU=${setting}, but the ${setting.toUpperCase()} backend cannot be used on this machine (${cause}). ` +
      `${WHAT_IT_NEEDS[setting]}. Set MLXM_GPU=auto to use the best backend present (or the CPU), or MLXM_GPU=off.`,
  );
}

/** The backend a binding runs on, as mlxm names it. */
export function backendOf(llama: Pick<Llama, "gpu">): GpuBackend | "cpu" {
  return llama.gpu === false ? "cpu" : llama.gpu;
}

/**
 * Throws when `llama` does not satisfy `setting`: a named backend must be the one that loaded, and `off` must be the
 * CPU. `auto` accepts anything.
 */
export function checkBackend(setting: GpuSetting, llama: Pick<Llama, "gpu">): void {
  const actual = backendOf(llama);
  if (setting === "auto") return;
  if (setting === "off") {
    if (actual !== "cpu") throw new GpuUnavailableError(`MLXM_GPU=off, but the engine in this process already runs on ${actual}`);
    return;
  }
  if (actual !== setting) throw gpuUnavailable(setting, actual === "cpu" ? "node-llama-cpp fell back to the CPU" : `the engine runs on ${actual}`);
}

/** The accelerator a binding runs on, with its current VRAM state. */
export async function describeAccelerator(
  llama: Pick<Llama, "gpu" | "getVramState" | "getGpuDeviceNames" | "buildType" | "systemInfo">,
  requested: GpuSetting,
): Promise<AcceleratorInfo> {
  const backend = backendOf(llama);
  const [vram, devices] = await Promise.all([
    llama.getVramState(),
    backend === "cpu" ? Promise.resolve([]) : llama.getGpuDeviceNames().catch(() => []),
  ]);
  return {
    requested,
    backend,
    devices,
    vramTotalBytes: vram.total,
    vramUsedBytes: vram.used,
    vramFreeBytes: vram.free,
    unifiedMemoryBytes: vram.unifiedSize,
    binary: llama.buildType === "localBuild" ? "local" : "prebuilt",
    cpuFeatures: llama.systemInfo,
  };
}
