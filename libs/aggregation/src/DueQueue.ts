/**
 * A min-heap of items by due time (any number, e.g. epoch ms): `push` and `popDue` in O(log n), no
 * allocation per entry once its arrays have grown. It holds no identity: an item pushed twice is
 * there twice, and the owner tells a stale entry from the live one (e.g. by keeping the due time of
 * the entry it trusts on the item and skipping entries whose time differs).
 */
export class DueQueue<T> {
  private dues: number[] = [];
  private items: T[] = [];

  get size(): number {
    return this.dues.length;
  }

  push(due: number, item: T): void {
    const dues = this.dues;
    const items = this.items;
    let i = dues.length;
    dues.push(due);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (dues[parent] <= due) break;
      dues[i] = dues[parent];
      items[i] = items[parent];
      i = parent;
    }
    dues[i] = due;
    items[i] = item;
  }

  /** The earliest due time held (Infinity when empty). */
  nextDue(): number {
    return this.dues.length === 0 ? Infinity : this.dues[0];
  }

  /** Removes the earliest entry and returns its item (undefined when empty). */
  pop(): T | undefined {
    const dues = this.dues;
    if (dues.length === 0) return undefined;
    const items = this.items;
    const top = items[0];
    const lastDue = dues.pop()!;
    const lastItem = items.pop()!;
    const n = dues.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && dues[l + 1] < dues[l] ? l + 1 : l;
        if (dues[c] >= lastDue) break;
        dues[i] = dues[c];
        items[i] = items[c];
        i = c;
      }
      dues[i] = lastDue;
      items[i] = lastItem;
    }
    return top;
  }
}
