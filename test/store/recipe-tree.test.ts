import { createHash } from 'node:crypto';
import t from 'tap';
import { RecipeBuilder } from '../../src/store/recipe-builder.js';
import { walkChunkList, walkRecipe } from '../../src/store/recipe-cursor.js';
import { decodeRecipeNode, RECIPE_MAX_ENTRIES } from '../../src/store/recipe-format.js';

/** The builder and the walker over nodes kept in a map: the tree logic alone, without containers. */
function buildTree(entries: number, sizeOf: (i: number) => number) {
  const nodes = new Map<string, Buffer>();
  const fps: Buffer[] = [];
  const builder = new RecipeBuilder((node) => {
    const fp = createHash('sha256').update(node).digest();
    nodes.set(fp.toString('hex'), node);
    return fp;
  });
  for (let i = 0; i < entries; i++) {
    const fp = createHash('sha256').update(`chunk ${i}`).digest();
    fps.push(fp);
    builder.add(fp, 0, sizeOf(i));
  }
  const root = builder.finish();
  const load = async (fp: Buffer, level: number) => {
    const node = decodeRecipeNode(nodes.get(fp.toString('hex'))!);
    if (node.level !== level) throw new Error(`level ${node.level} != ${level}`);
    return node;
  };
  return { root, nodes, fps, load };
}

t.test('half a million entries make a three-level tree whose walk returns every entry in order', async (t) => {
  const size = (i: number) => 1000 + (i % 97);
  const { root, nodes, fps, load } = buildTree(500_000, size);
  t.equal(root.height, 3, 'leaves, one interior level, a root');
  const largest = Math.max(...[...nodes.values()].map((n) => n.length));
  t.ok(largest <= 16 + RECIPE_MAX_ENTRIES * 40, `largest node ${largest} bytes: no node grows with the object`);
  let i = 0;
  let offset = 0;
  for await (const ref of walkRecipe(load, root.root!, root.height, 0)) {
    if (!ref.fingerprint.equals(fps[i]!) || ref.objectOffset !== offset || ref.rawLength !== size(i)) {
      t.fail(`entry ${i} differs`);
      return;
    }
    offset += size(i);
    i++;
  }
  t.equal(i, 500_000, 'every entry, in order');

  // Seeking into the middle starts at the chunk holding the offset.
  let expectedOffset = 0;
  let k = 0;
  while (expectedOffset + size(k) <= 321_000_000) expectedOffset += size(k++);
  const first = await walkRecipe(load, root.root!, root.height, 321_000_000).next();
  t.ok(first.value && first.value.fingerprint.equals(fps[k]!), `seek lands on entry ${k}`);
  t.equal(first.value && first.value.objectOffset, expectedOffset);
  const past = await walkRecipe(load, root.root!, root.height, offset).next();
  t.equal(past.done, true, 'seeking to the end yields nothing');
});

t.test('small trees', async (t) => {
  const empty = buildTree(0, () => 1);
  t.same(empty.root, { root: null, height: 0 });
  const one = buildTree(1, () => 5);
  t.equal(one.root.height, 1);
  const refs = [];
  for await (const r of walkRecipe(one.load, one.root.root!, 1, 0)) refs.push(r);
  t.equal(refs.length, 1);
  t.equal(refs[0]!.rawLength, 5);
});

t.test('the same entries always make the same tree', async (t) => {
  const a = buildTree(50_000, () => 4096);
  const b = buildTree(50_000, () => 4096);
  t.ok(a.root.root!.equals(b.root.root!));
});

t.test('a chunk list walks like the recipe of the same chunks, from any offset', async (t) => {
  const sizeOf = (i: number): number => 1 + ((i * 7919) % 5000);
  const tree = buildTree(3000, sizeOf);
  const list = { fingerprints: Buffer.concat(tree.fps), rawLengths: Uint32Array.from(tree.fps, (_, i) => sizeOf(i)) };
  const total = list.rawLengths.reduce((a, n) => a + n, 0);
  for (const from of [0, 1, sizeOf(0), sizeOf(0) + 1, Math.floor(total / 2), total - 1, total, total + 10]) {
    const fromRecipe = [];
    for await (const r of walkRecipe(tree.load, tree.root.root!, tree.root.height, from)) fromRecipe.push(r);
    const fromList = [...walkChunkList(list, from)];
    t.same(fromList, fromRecipe, `from ${from}: ${fromList.length} chunks`);
  }
  t.same([...walkChunkList({ fingerprints: Buffer.alloc(0), rawLengths: new Uint32Array(0) }, 0)], []);
});
