import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { gzipAll } from "@/lib/changes/gzip-thread";
import { ContentArena, SLAB_BYTES } from "@/lib/changes/content-arena";

// A batch's contents are gzipped on a thread of their own when large enough: each comes back
// whole and in order, whatever the path taken.

const text = (i: number, lines: number) =>
  Buffer.from(Array.from({ length: lines }, (_, l) => `line ${l} of file ${i}`).join("\n"));

describe("gzipAll", () => {
  test("a batch too small for the thread is gzipped here, each part in order", async () => {
    const parts = [text(1, 3), Buffer.alloc(0), text(2, 10)];
    const gzipped = await gzipAll(parts, { level: 1 });
    assert.deepEqual(
      gzipped.map((g) => gunzipSync(g)),
      parts,
    );
  });

  test("a large batch goes through the thread and comes back whole, several batches at once", async () => {
    const batches = Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => text(b * 100 + i, 20 + (i % 50))),
    );
    assert.ok(batches[0]!.reduce((sum, p) => sum + p.length, 0) > 64 * 1024, "over the thread's threshold");
    const results = await Promise.all(batches.map((parts) => gzipAll(parts, { level: 1 })));
    results.forEach((gzipped, b) =>
      assert.deepEqual(
        gzipped.map((g) => gunzipSync(g)),
        batches[b],
      ),
    );
  });

  test("contents held in shared memory, over several slabs and beside ones that are not, come back whole and in order", async () => {
    const arena = new ContentArena();
    const parts: Buffer[] = [];
    // Two slabs' worth of held contents, then a content too large for a slab, then plain buffers.
    for (let i = 0; parts.reduce((sum, p) => sum + p.length, 0) < 2 * SLAB_BYTES; i++) parts.push(text(i, 2000));
    parts.push(Buffer.alloc(SLAB_BYTES + 10, "x"), text(-1, 5), Buffer.alloc(0));
    const given = parts.map((p, i) => (i < parts.length - 3 ? arena.hold(p) : p));
    assert.ok(given[0]!.buffer instanceof SharedArrayBuffer && !(given.at(-2)!.buffer instanceof SharedArrayBuffer));
    const gzipped = await gzipAll(given, { level: 1 });
    arena.release();
    assert.equal(gzipped.length, parts.length);
    gzipped.forEach((g, i) => assert.deepEqual(gunzipSync(g), parts[i], `part ${i}`));
  });
});
