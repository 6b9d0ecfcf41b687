import { MlInputError } from './errors';

/**
 * Area under the ROC curve of `scores` (higher = more likely positive) against 0/1 labels, via the
 * Mann–Whitney rank statistic with average ranks for ties (equals scikit-learn's `roc_auc_score`).
 * 1 = every positive scored above every negative, 0.5 = random. O(n log n).
 */
export function rocAucScore(isPositive: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = scores.length;
  if (isPositive.length !== n) throw new MlInputError(`labels have ${isPositive.length} values, scores ${n}`, 'scores');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let nPos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (isPositive[order[k]!]) {
        nPos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new MlInputError('ROC AUC needs both positive and negative labels', 'labels');
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
