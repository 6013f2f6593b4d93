/** The q-quantile (0..1) of `values`, by linear interpolation between the nearest ranks. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export const median = (values: number[]): number => quantile(values, 0.5);

export interface MannWhitneyResult {
  /** U of the first sample: how many (a, b) pairs have a > b, ties counting a half. */
  u: number;
  /** U standardised under "same distribution" (normal approximation, tie-corrected): near 0 when the samples mix evenly. */
  z: number;
  /** Probability that a value of the first sample exceeds one of the second (0.5: neither tends to be larger). */
  effect: number;
}

/**
 * The Mann-Whitney U (Wilcoxon rank-sum) test: whether values of `a` tend to be larger or smaller
 * than values of `b`. It compares ranks, not means, so the few very slow requests a shared machine
 * produces do not decide it.
 */
export function mannWhitneyU(a: number[], b: number[]): MannWhitneyResult {
  const all = [...a.map((value) => ({ value, first: true })), ...b.map((value) => ({ value, first: false }))].sort((x, y) => x.value - y.value);
  const n = all.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && all[end + 1].value === all[start].value) end++;
    const rank = (start + end) / 2 + 1;
    const tied = end - start + 1;
    tieTerm += tied ** 3 - tied;
    for (let i = start; i <= end; i++) if (all[i].first) rankSumA += rank;
    start = end + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  return { u, z: variance === 0 ? 0 : (u - mean) / Math.sqrt(variance), effect: u / (n1 * n2) };
}

export interface SignedRankResult {
  /** Sum of the ranks (by size) of the positive differences. */
  w: number;
  /** W standardised under "differences symmetric around 0": near 0 when neither side tends to be larger. */
  z: number;
}

/**
 * The Wilcoxon signed-rank test on paired differences: whether they tend to be positive or
 * negative. Zero differences are left out; tied sizes share their mean rank.
 */
export function wilcoxonSignedRank(differences: number[]): SignedRankResult {
  const nonZero = differences.filter((d) => d !== 0).sort((a, b) => Math.abs(a) - Math.abs(b));
  const n = nonZero.length;
  let w = 0;
  let tieTerm = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && Math.abs(nonZero[end + 1]) === Math.abs(nonZero[start])) end++;
    const rank = (start + end) / 2 + 1;
    const tied = end - start + 1;
    tieTerm += tied ** 3 - tied;
    for (let i = start; i <= end; i++) if (nonZero[i] > 0) w += rank;
    start = end + 1;
  }
  const mean = (n * (n + 1)) / 4;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  return { w, z: variance <= 0 ? 0 : (w - mean) / Math.sqrt(variance) };
}
