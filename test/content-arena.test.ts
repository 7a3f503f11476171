import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ContentArena, SLAB_BYTES } from "@/lib/changes/content-arena";

// A batch's contents are copied into slabs of shared memory that the next batches reuse: each
// held content reads back as it was, whichever slab it landed in, until the arena is released.

const filled = (length: number, seed: number) => Buffer.alloc(length, seed % 251);

describe("ContentArena", () => {
  test("holds each content whole and apart, across slabs", () => {
    const arena = new ContentArena();
    // Three slabs' worth, in sizes that do not divide a slab.
    const contents = Array.from({ length: 3 * 97 }, (_, i) => filled(SLAB_BYTES / 97 - 13 + (i % 7), i));
    const held = contents.map((c) => arena.hold(c));
    held.forEach((h, i) => {
      assert.ok(h.buffer instanceof SharedArrayBuffer, `content ${i} is in shared memory`);
      assert.deepEqual(h, contents[i], `content ${i} reads back as it was`);
    });
    assert.ok(new Set(held.map((h) => h.buffer)).size >= 3, "more than one slab was used");
    arena.release();
  });

  test("a content larger than a slab is kept as it is; an empty one is held", () => {
    const arena = new ContentArena();
    const large = filled(SLAB_BYTES + 1, 3);
    assert.equal(arena.hold(large), large);
    assert.equal(arena.hold(Buffer.alloc(0)).length, 0);
    arena.release();
  });

  test("a released arena's slabs serve the next arena", () => {
    const first = new ContentArena();
    const slab = first.hold(filled(100, 1)).buffer;
    first.release();
    const next = new ContentArena();
    const held = next.hold(filled(100, 2));
    assert.equal(held.buffer, slab, "the same memory, touched once");
    assert.deepEqual(held, filled(100, 2));
    next.release();
  });
});
