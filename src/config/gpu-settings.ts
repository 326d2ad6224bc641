/** The GPU settings' values: which compute backend the engine asks node-llama-cpp for, and how many layers it offloads. */
import { ConfigError, parseInteger } from "./parse.js";

/** `MLXM_GPU`: `auto` takes whatever node-llama-cpp finds (falling back to the CPU); a named backend is required. */
export type GpuSetting = "auto" | "off" | "metal" | "cuda" | "vulkan";

/** `MLXM_GPU_LAYERS`: node-llama-cpp's `gpuLayers` ("auto" fits free VRAM, "max" offloads all, or a count). */
export type GpuLayersSetting = "auto" | "max" | number;

const GPU_SETTINGS: readonly GpuSetting[] = ["auto", "off", "metal", "cuda", "vulkan"];

export function parseGpu(name: string, raw: string): GpuSetting {
  const value = raw.trim().toLowerCase();
  // "cpu" and "false" read naturally as "no GPU"; accept them as spellings of off.
  if (value === "cpu" || value === "false" || value === "0" || value === "none") return "off";
  if ((GPU_SETTINGS as readonly string[]).includes(value)) return value as GpuSetting;
  throw new ConfigError(`${name} must be one of ${GPU_SETTINGS.join(", ")}, got "${raw}"`);
}

export function parseGpuLayers(name: string, raw: string): GpuLayersSetting {
  const value = raw.trim().toLowerCase();
  if (value === "auto" || value === "max") return value;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be auto, max or a number of layers, got "${raw}"`);
  return parseInteger(name, value, 0);
}
