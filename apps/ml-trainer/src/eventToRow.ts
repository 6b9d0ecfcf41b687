/** Nested objects deeper than this are not flattened (their fields are not usable as features). */
const MAX_DEPTH = 4;

/**
 * Turns one event envelope (as stored on an `events.*` topic) into a training row: the envelope's
 * top-level scalar fields (id, topic, type, timestamp, source, key), then the payload's fields on
 * top (a payload field wins over an envelope field of the same name), nested objects flattened to
 * dotted keys. Arrays are kept as they are (not usable as features). Returns undefined for a
 * message that is not a JSON object.
 *
 *   eventToRow('{"topic":"events.devices","key":"d1","payload":{"value":3,"attributes":{"cpu":0.5}}}')
 *   // → { topic: 'events.devices', key: 'd1', value: 3, 'attributes.cpu': 0.5 }
 */
export function eventToRow(value: Buffer | string): Record<string, unknown> | undefined {
  let event: unknown;
  try {
    event = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return undefined;
  // No prototype: a payload field named `__proto__` (JSON.parse keeps it as an own key) stays a field.
  const row = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(event)) if (k !== 'payload' && (v === null || typeof v !== 'object')) row[k] = v;
  const payload = (event as Record<string, unknown>)['payload'];
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) flatten(payload as Record<string, unknown>, '', row, 1);
  return row;
}

function flatten(obj: Record<string, unknown>, prefix: string, out: Record<string, unknown>, depth: number): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < MAX_DEPTH) flatten(v as Record<string, unknown>, `${key}.`, out, depth + 1);
    else out[key] = v;
  }
}
