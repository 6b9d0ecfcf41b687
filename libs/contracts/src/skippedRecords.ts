import { Type, type Static } from '@sinclair/typebox';

/** At most this many skipped records are quoted in `examples`. */
export const MAX_SKIPPED_EXAMPLES = 5;

/**
 * Records of a topic range that a job could not use (not JSON, not an object, a value that is not a
 * finite number, …): a job over a range skips them and reports them here instead of failing on one
 * bad record. Batch jobs (`skipped` of GET /pipeline/spark/jobs/{id}) and training jobs (`skipped` of
 * GET /pipeline/ml/jobs/{id}) report the same shape.
 */
export const SkippedRecordsSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 1, description: 'Records skipped' }),
    reasons: Type.Array(Type.Object({ reason: Type.String(), count: Type.Integer({ minimum: 1 }) }), {
      description: 'Why, most frequent first, e.g. {"reason":"value must be a finite number","count":3}',
    }),
    examples: Type.Array(Type.Object({ topic: Type.String(), partition: Type.Integer(), offset: Type.String(), error: Type.String() }), {
      maxItems: MAX_SKIPPED_EXAMPLES,
      description: `The first ${MAX_SKIPPED_EXAMPLES} records skipped (in task order) and the error of each`,
    }),
  },
  { $id: 'SkippedRecords' },
);
export type SkippedRecords = Static<typeof SkippedRecordsSchema>;

/** Where a skipped record is. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Counts skipped records by reason and keeps the first few as examples. `reason` is the error without
 * the offending value (`value must be a finite number`), `error` the full text (`value must be a finite
 * number, got "abc"`). Reasons live in a Map: they may contain user-chosen field names like `__proto__`.
 */
export class SkippedRecordsTally {
  private count = 0;
  private readonly reasons = new Map<string, number>();
  private readonly examples: SkippedRecords['examples'] = [];

  add(at: RecordPosition, error: string): void {
    this.count++;
    const reason = reasonOf(error);
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (this.examples.length < MAX_SKIPPED_EXAMPLES) this.examples.push({ topic: at.topic, partition: at.partition, offset: at.offset, error });
  }

  get size(): number {
    return this.count;
  }

  /** The report, or undefined when nothing was skipped. */
  report(): SkippedRecords | undefined {
    return mergeSkippedRecords([this.count === 0 ? undefined : { count: this.count, reasons: [...this.reasons].map(([reason, count]) => ({ reason, count })), examples: this.examples.slice() }]);
  }
}

/** `value must be a finite number, got "abc"` → `value must be a finite number`. */
function reasonOf(error: string): string {
  const at = error.indexOf(', got ');
  return at < 0 ? error : error.slice(0, at);
}

/** The sum of several reports (tasks in task order): counts added, reasons merged most frequent first (then by text), the first examples kept. */
export function mergeSkippedRecords(parts: readonly (SkippedRecords | undefined)[]): SkippedRecords | undefined {
  const reasons = new Map<string, number>();
  const examples: SkippedRecords['examples'] = [];
  let count = 0;
  for (const p of parts) {
    if (!p || p.count === 0) continue;
    count += p.count;
    for (const r of p.reasons) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + r.count);
    for (const e of p.examples) if (examples.length < MAX_SKIPPED_EXAMPLES) examples.push(e);
  }
  if (count === 0) return undefined;
  const sorted = [...reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([reason, n]) => ({ reason, count: n }));
  return { count, reasons: sorted, examples };
}
