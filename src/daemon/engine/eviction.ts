/**
 * Which loaded models to unload so that one more fits the memory budgets (RAM and GPU memory, apart) and the
 * model-count limit. Pure, so the
 * policy is tested on its own: only idle models are candidates, least recently used first, and models kept
 * "forever" (keep_alive -1) only after every other idle model.
 */

export interface ResidentModel {
  name: string;
  memoryBytes: number;
  /** GPU memory it holds (0 on the CPU). */
  vramBytes?: number;
  /** No request running or queued on it. */
  idle: boolean;
  /** Orders models by last use (greater is more recent). */
  lastUsed: number;
  /** keep_alive -1: never unloaded for idleness; evicted only when nothing else can make room. */
  pinned: boolean;
}

export interface EvictionRequest {
  /** Every model holding memory (loaded, or reserved and loading). */
  resident: readonly ResidentModel[];
  /** Memory still held by models being disposed right now. */
  disposingBytes: number;
  needBytes: number;
  maxBytes: number;
  /** GPU memory: held by models being disposed, needed by the new one, and the budget (default: unlimited). */
  disposingVramBytes?: number;
  needVramBytes?: number;
  maxVramBytes?: number;
  maxModels: number;
}

/** Names to evict, in order, or undefined when even evicting every idle model would not make room. */
export function planEviction(request: EvictionRequest): string[] | undefined {
  let used = request.disposingBytes + request.resident.reduce((sum, m) => sum + m.memoryBytes, 0);
  let usedVram = (request.disposingVramBytes ?? 0) + request.resident.reduce((sum, m) => sum + (m.vramBytes ?? 0), 0);
  const needVram = request.needVramBytes ?? 0;
  const maxVram = request.maxVramBytes ?? Number.POSITIVE_INFINITY;
  let count = request.resident.length;
  const candidates = request.resident
    .filter((m) => m.idle)
    .sort((a, b) => Number(a.pinned) - Number(b.pinned) || a.lastUsed - b.lastUsed);
  const victims: string[] = [];
  while (used + request.needBytes > request.maxBytes || usedVram + needVram > maxVram || count + 1 > request.maxModels) {
    const victim = candidates.shift();
    if (!victim) return undefined;
    victims.push(victim.name);
    used -= victim.memoryBytes;
    usedVram -= victim.vramBytes ?? 0;
    count--;
  }
  return victims;
}
