import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchMeter, batchLimits, fanOutThreshold, splitIntoBatches } from "@/lib/sync/batch-limits";
import { withEnv } from "./helpers";

describe("batch limits", () => {
  test("defaults: 500 files or 16 MiB a batch, more than 200 changed files fanned out", async () => {
    await withEnv({ SYNC_BATCH_FILES: "", SYNC_BATCH_BYTES: "", SYNC_FAN_OUT_THRESHOLD: "" }, async () => {
      assert.deepEqual(batchLimits(), { files: 500, bytes: 16 * 1024 * 1024 });
      assert.equal(fanOutThreshold(), 200);
    });
  });

  test("the variables are read when used, and a value that is not a whole number is refused by name", async () => {
    await withEnv({ SYNC_BATCH_FILES: "100", SYNC_BATCH_BYTES: "4096", SYNC_FAN_OUT_THRESHOLD: "0" }, async () => {
      assert.deepEqual(batchLimits(), { files: 100, bytes: 4096 });
      assert.equal(fanOutThreshold(), 0);
    });
    for (const bad of ["0", "-5", "2.5", "lots"])
      await withEnv({ SYNC_BATCH_FILES: bad }, async () => {
        assert.throws(
          () => batchLimits(),
          new RegExp(`SYNC_BATCH_FILES must be a whole number of at least 1, not "${bad}"`),
        );
      });
    await withEnv({ SYNC_FAN_OUT_THRESHOLD: "-1" }, async () => {
      assert.throws(() => fanOutThreshold(), /SYNC_FAN_OUT_THRESHOLD must be a whole number of at least 0/);
    });
  });

  test("a batch closes with the file that reaches the file count or the bytes; a file over the bytes is a batch alone", () => {
    const limits = { files: 3, bytes: 100 };
    const sizes = [10, 10, 10, 10, 60, 50, 500, 1, null, null, null, 30];
    const batches = splitIntoBatches(sizes, (s) => s, limits);
    assert.deepEqual(batches, [[10, 10, 10], [10, 60, 50], [500], [1, null, null], [null, 30]]);
    assert.deepEqual(
      splitIntoBatches([], (s: number) => s, limits),
      [],
    );

    const meter = new BatchMeter(limits);
    assert.equal(meter.add(99), false);
    assert.equal(meter.add(1), true, "100 bytes: full");
    meter.reset();
    assert.equal(meter.add(0), false);
    assert.equal(meter.add(null), false);
    assert.equal(meter.add(0), true, "three files: full");
  });
});
