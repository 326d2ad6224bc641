/**
 * The benchmarks' running order. On this shared machine whoever runs right after another system is slowed by what
 * that one leaves behind (a freed model, a response still being finished, a pull's writes), so a fixed order gives
 * the same system that place every round.
 */

/** `items` starting from the `round`-th (mod length): each takes every place in the order in turn. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
