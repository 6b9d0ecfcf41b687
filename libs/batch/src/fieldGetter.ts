/** Reads one named field of an event. Returns `undefined` when the field is absent. */
export type FieldGetter = (event: Record<string, unknown>) => unknown;

/** `o[name]` if it is `o`'s own property, else undefined: `constructor`, `toString` or `__proto__` are never read from Object.prototype. */
function own(o: object, name: string): unknown {
  return Object.hasOwn(o, name) ? (o as Record<string, unknown>)[name] : undefined;
}

/**
 * Compiles the lookup rule for a field name once, so the per-event read is a couple of property loads.
 * Only own properties count: a field named `constructor` or `__proto__` is absent from an event that
 * does not carry it, like any other name.
 *
 * Rule (the same for value_key, group_key, join key and `timestamp`):
 *   1. the top-level property `name`, if it is neither undefined nor null;
 *   2. otherwise `payload[name]`, when `payload` is an object;
 *   3. otherwise, when `name` contains dots, the dotted path from the top (`payload.value`, `meta.geo.country`).
 * Example: for `{ value: 1, payload: { value: 2 } }` the field `value` is 1, `payload.value` is 2;
 * for `{ payload: { value: 2 } }` the field `value` is 2.
 */
export function compileFieldGetter(name: string): FieldGetter {
  const path = name.includes('.') ? name.split('.') : null;
  return (event) => {
    const top = own(event, name);
    if (top !== undefined && top !== null) return top;
    const payload = event.payload;
    if (payload !== null && typeof payload === 'object') {
      const inner = own(payload, name);
      if (inner !== undefined && inner !== null) return inner;
    }
    if (path === null) return top ?? undefined;
    let cursor: unknown = event;
    for (const part of path) {
      if (cursor === null || typeof cursor !== 'object') return undefined;
      cursor = own(cursor, part);
    }
    return cursor;
  };
}
