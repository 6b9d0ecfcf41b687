/**
 * The tree structure of the compact forest encodings (random forest and isolation forest): nodes in
 * preorder, one `nodeFeature` entry per node — the split feature, or a leaf mark (0xFF; with 255 or
 * more features the entries are uint16 and the mark is 0xFFFF) — and the node count of each tree.
 * A node's left child is the next node and its right child follows the left subtree, so no child
 * pointers are stored. Each model keeps its node values in sections of its own, split nodes and
 * leaves apart, each in preorder.
 *
 * Example: one tree `x0 ≤ a ? A : (x1 ≤ b ? B : C)` is treeNodeCounts [5], nodeFeature
 * [0, 0xFF, 1, 0xFF, 0xFF]; its split section holds a, b and its leaf section A, B, C.
 */
export interface PreorderTrees {
  treeNodeCounts: Int32Array;
  nodeFeature: Uint8Array | Uint16Array;
}

/** A tree read back: `feature` −1 marks a leaf; `right` is the right child's index within the tree (−1 for leaves). */
export interface TreeStructure {
  feature: Int32Array;
  right: Int32Array;
}

const leafMarkFor = (nFeatures: number): number => (nFeatures < 255 ? 0xff : 0xffff);

/**
 * Encodes the structure of a flat preorder forest (tree `t` is nodes `[treeOffsets[t], treeOffsets[t + 1])`,
 * `feature[i] < 0` for leaves). `splits` and `leaves` are the node indices in the order of the value sections.
 */
export function encodePreorder(nFeatures: number, treeOffsets: Int32Array, feature: Int32Array): PreorderTrees & { splits: Int32Array; leaves: Int32Array } {
  const n = feature.length;
  const leafMark = leafMarkFor(nFeatures);
  const nodeFeature = nFeatures < 255 ? new Uint8Array(n) : new Uint16Array(n);
  let nLeaves = 0;
  for (let i = 0; i < n; i++) if (feature[i]! < 0) nLeaves++;
  const splits = new Int32Array(n - nLeaves);
  const leaves = new Int32Array(nLeaves);
  let s = 0;
  let l = 0;
  for (let i = 0; i < n; i++) {
    const f = feature[i]!;
    nodeFeature[i] = f < 0 ? leafMark : f;
    if (f < 0) leaves[l++] = i;
    else splits[s++] = i;
  }
  const treeNodeCounts = new Int32Array(treeOffsets.length - 1);
  for (let t = 0; t < treeNodeCounts.length; t++) treeNodeCounts[t] = treeOffsets[t + 1]! - treeOffsets[t]!;
  return { treeNodeCounts, nodeFeature, splits, leaves };
}

/**
 * Reads the trees of `encodePreorder` back, checking that each is a full binary tree of its node
 * count, every split feature is below `nFeatures`, and no node is left over. `kind` names the
 * trees in error messages ("tree", "isolation tree").
 */
export function decodePreorder(c: PreorderTrees, nFeatures: number, kind: string): TreeStructure[] {
  const leafMark = leafMarkFor(nFeatures);
  const trees: TreeStructure[] = [];
  let pos = 0;
  for (let t = 0; t < c.treeNodeCounts.length; t++) {
    const count = c.treeNodeCounts[t]!;
    const feature = new Int32Array(count);
    const right = new Int32Array(count);
    const pending: number[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0) {
        if (feature[i - 1]! >= 0) pending.push(i - 1);
        else {
          const parent = pending.pop();
          if (parent === undefined) throw new RangeError(`${kind} ${t} is not a full binary tree`);
          right[parent] = i;
        }
      }
      if (pos >= c.nodeFeature.length) throw new RangeError(`tree ${t} runs past the node section`);
      const f = c.nodeFeature[pos++]!;
      if (f !== leafMark && f >= nFeatures) throw new RangeError(`${kind} ${t} node ${i} has feature ${f} of ${nFeatures}`);
      feature[i] = f === leafMark ? -1 : f;
      right[i] = f === leafMark ? -1 : 0;
    }
    if (pending.length !== 0) throw new RangeError(`${kind} ${t} is truncated`);
    trees.push({ feature, right });
  }
  if (pos !== c.nodeFeature.length) throw new RangeError('the node section has trailing nodes');
  return trees;
}

/** Entry `i` of a value section, for tree `tree`; throws if the section is shorter. */
export function sectionAt(a: ArrayLike<number>, i: number, tree: number): number {
  if (i >= a.length) throw new RangeError(`tree ${tree} runs past the end of a section`);
  return a[i]!;
}

/** A flat forest: tree `t` is nodes `[offsets[t], offsets[t + 1])`; `right` holds global indices (−1 for leaves). */
export interface FlatTrees {
  offsets: Int32Array;
  feature: Int32Array;
  right: Int32Array;
}

/** Concatenates per-tree preorder structures (right indices local to their tree) into one flat forest. */
export function flattenTrees(trees: readonly TreeStructure[]): FlatTrees {
  const offsets = new Int32Array(trees.length + 1);
  trees.forEach((t, i) => (offsets[i + 1] = offsets[i]! + t.feature.length));
  const feature = concatNodes(trees.map((t) => t.feature), (n) => new Int32Array(n));
  const right = new Int32Array(feature.length);
  trees.forEach((t, ti) => {
    const off = offsets[ti]!;
    for (let i = 0; i < t.feature.length; i++) right[off + i] = t.feature[i]! < 0 ? -1 : off + t.right[i]!;
  });
  return { offsets, feature, right };
}

/** Joins one per-node array of every tree, in tree order: the node layout of `flattenTrees`. */
export function concatNodes<A extends Int32Array | Float64Array | Uint8Array>(parts: readonly A[], make: (length: number) => A): A {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Walks every tree of a flat forest for one row (a split sends `x ≤ threshold` to the next node, the
 * rest to `right`) and sums `leafValue` over the leaves reached.
 */
export function sumLeafValues(
  trees: { treeOffsets: Int32Array; feature: Int32Array; threshold: Float64Array; right: Int32Array },
  leafValue: Float64Array,
  row: ArrayLike<number>,
  offset: number,
): number {
  const { treeOffsets, feature, threshold, right } = trees;
  let sum = 0;
  for (let t = 0; t < treeOffsets.length - 1; t++) {
    let node = treeOffsets[t]!;
    let f = feature[node]!;
    while (f >= 0) {
      node = row[offset + f]! <= threshold[node]! ? node + 1 : right[node]!;
      f = feature[node]!;
    }
    sum += leafValue[node]!;
  }
  return sum;
}
