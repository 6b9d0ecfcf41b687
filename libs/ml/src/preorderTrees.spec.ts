import { decodePreorder, encodePreorder } from './preorderTrees';

describe('preorder tree encoding', () => {
  // Tree 0: x0 ≤ a ? A : (x1 ≤ b ? B : C); tree 1: a single leaf. Right children are tree-local.
  const treeOffsets = Int32Array.of(0, 5, 6);
  const feature = Int32Array.of(0, -1, 1, -1, -1, -1);

  it('encodes the worked example of its doc comment and lists split and leaf nodes in preorder', () => {
    expect(encodePreorder(2, treeOffsets, feature)).toEqual({
      treeNodeCounts: Int32Array.of(5, 1),
      nodeFeature: Uint8Array.of(0, 0xff, 1, 0xff, 0xff, 0xff),
      splits: Int32Array.of(0, 2),
      leaves: Int32Array.of(1, 3, 4, 5),
    });
  });

  it('reads the structure back with each right child found from the preorder', () => {
    const { treeNodeCounts, nodeFeature } = encodePreorder(2, treeOffsets, feature);
    expect(decodePreorder({ treeNodeCounts, nodeFeature }, 2, 'tree')).toEqual([
      { feature: Int32Array.of(0, -1, 1, -1, -1), right: Int32Array.of(2, -1, 4, -1, -1) },
      { feature: Int32Array.of(-1), right: Int32Array.of(-1) },
    ]);
  });

  it('uses uint16 entries and 0xFFFF as the leaf mark from 255 features on', () => {
    const c = encodePreorder(300, Int32Array.of(0, 3), Int32Array.of(299, -1, -1));
    expect(c.nodeFeature).toEqual(Uint16Array.of(299, 0xffff, 0xffff));
    expect(decodePreorder(c, 300, 'tree')[0]!.feature).toEqual(Int32Array.of(299, -1, -1));
  });

  it('rejects structures that are not full binary trees of their node counts', () => {
    const leaf = 0xff;
    const decode = (counts: number[], nodes: number[]) => () => decodePreorder({ treeNodeCounts: Int32Array.from(counts), nodeFeature: Uint8Array.from(nodes) }, 2, 'isolation tree');
    expect(decode([3], [leaf, leaf, leaf])).toThrow(new RangeError('isolation tree 0 is not a full binary tree'));
    expect(decode([2], [0, leaf])).toThrow(new RangeError('isolation tree 0 is truncated'));
    expect(decode([3], [0, leaf])).toThrow(new RangeError('tree 0 runs past the node section'));
    expect(decode([3], [2, leaf, leaf])).toThrow(new RangeError('isolation tree 0 node 0 has feature 2 of 2'));
    expect(decode([1], [leaf, leaf])).toThrow(new RangeError('the node section has trailing nodes'));
  });
});
