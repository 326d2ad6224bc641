/**
 * How sure a paired comparison is, for the benchmarks that alternate mlxm and llama-server request by request.
 *
 * Why. On this project's 2-core VM the same decode loop runs at about 2.3 or about 3.7 ms per token depending on
 * what else the host runs, switching within seconds (measured: a bare node-llama-cpp decode-and-sample loop ran at
 * 2.2-2.4 and 3.5-3.8 ms per token in runs minutes apart), and two identical daemons measured in the same
 * interleaved run differed by 13 % per token. A median ratio alone (0.955, say) does not tell a 4 % gap from that
 * noise; its confidence interval and a sign test on the wins do. The math is simple-statistics' (binomial
 * distribution, resampling with replacement, quantiles).
 */
import { binomialDistribution, median, quantile, sampleWithReplacement } from "simple-statistics";
// The model generator's seeded generator: a report's interval is the same each time it is computed.
import { mulberry32 } from "../src/daemon/engine/gguf/tiny-model.js";

/**
 * Exact two-sided sign test: the chance of a split at least as uneven as `wins` of `n` if either side were as
 * likely to win each pair. Ties should be left out of `n` by the caller.
 */
export function signTestP(wins: number, n: number): number {
  if (!Number.isInteger(wins) || !Number.isInteger(n) || n < 0 || wins < 0 || wins > n) {
    throw new RangeError(`sign test needs 0 <= wins <= n (integers), got ${wins} of ${n}`);
  }
  if (n === 0) return 1;
  const probabilities = binomialDistribution(n, 0.5) ?? [];
  const tail = Math.min(wins, n - wins);
  // The lower tail (the library's table is complete there); the distribution is symmetric at p = 0.5.
  let p = 0;
  for (let k = 0; k <= tail; k++) p += probabilities[k] ?? 0;
  return Math.min(1, 2 * p);
}

/**
 * Percentile bootstrap interval of the median of `values`: the `level` (default 0.95) middle share of the medians
 * of `resamples` resamples drawn with replacement, seeded for repeatable reports.
 */
export function bootstrapMedianInterval(
  values: readonly number[],
  options: { level?: number; resamples?: number; seed?: number } = {},
): [number, number] {
  if (values.length === 0) throw new RangeError("no values to resample");
  const level = options.level ?? 0.95;
  const random = mulberry32(options.seed ?? 1);
  const medians = Array.from({ length: options.resamples ?? 2000 }, () =>
    median(sampleWithReplacement([...values], values.length, random)),
  );
  return [quantile(medians, (1 - level) / 2), quantile(medians, 1 - (1 - level) / 2)];
}
