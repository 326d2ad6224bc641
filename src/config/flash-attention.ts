/**
 * `MLXM_FLASH_ATTENTION`: llama.cpp's flash attention for local models' contexts, as llama-server's `--flash-attn`
 * and Ollama's `OLLAMA_FLASH_ATTENTION` offer it. `auto` is node-llama-cpp's default (llama.cpp turns it on where
 * the backend supports it, the CPU included).
 *
 * Why a choice. On the CPU it trades one kind of speed for another (bench60m, one thread, this project's 2-core VM,
 * bench/inference.ts with both settings side by side): on, a conversation's later turns (a few dozen new tokens
 * behind ~1,600 cached) started in 153-203 ms; off, in 109-140 ms, as llama.cpp's CPU kernel makes one pass over the
 * cache per new token where the plain path multiplies matrices. Off, the single stream decoded 0.85x llama-server's
 * rate against 0.97x on (20 alternating pairs), and a 1,565-token prompt from scratch took 1.07 s against 0.83 s.
 * Decoding dominates most answers, so `auto` stays the default. Since then reused prompts are sized to fill the CPU
 * kernel's 64-token tile (engine/attention-tile.ts), which took most of that cost away: in-process, 64 new tokens
 * behind 1,600 took 69-91 ms on one thread (57 took 124), against 79-87 ms for 58 with flash attention off.
 */
import { booleanSpelling, ConfigError } from "./parse.js";

export type FlashAttentionSetting = "auto" | "on" | "off";

export function parseFlashAttention(name: string, raw: string): FlashAttentionSetting {
  if (raw.trim().toLowerCase() === "auto") return "auto";
  // On and off in the spellings every boolean variable takes.
  const on = booleanSpelling(raw);
  if (on === undefined) throw new ConfigError(`${name} must be auto, on or off, got "${raw}"`);
  return on ? "on" : "off";
}

/** node-llama-cpp's `flashAttention` context option for the setting. */
export function flashAttentionOption(setting: FlashAttentionSetting | undefined): boolean | "auto" {
  return setting === "on" ? true : setting === "off" ? false : "auto";
}
