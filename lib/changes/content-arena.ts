/** The size of one slab of shared memory; a content larger than this is not held in one. */
export const SLAB_BYTES = 4 * 1024 * 1024;
/** Free slabs kept for later batches (at most 24 MiB); more are left to the garbage collector. */
const POOL_SLABS = 6;
const pool: SharedArrayBuffer[] = [];

/**
 * A batch's file contents, held in slabs of shared memory that later batches reuse. Memory a
 * process has just received from the system costs a page fault on first touch (about 15 µs a
 * 4 KiB page on the machines measured, a fifth of the worker's CPU in a full sync): slabs touched
 * once serve every batch after. Shared, so that the compression thread reads a batch's contents
 * where they are (see gzipAll). Every content held is invalid once the arena is released.
 */
export class ContentArena {
  private readonly slabs: SharedArrayBuffer[] = [];
  private used = 0;

  /** `content`, copied into the arena; a content larger than a slab is returned as it is. */
  hold(content: Buffer): Buffer {
    if (content.length > SLAB_BYTES) return content;
    if (this.slabs.length === 0 || this.used + content.length > SLAB_BYTES) {
      this.slabs.push(pool.pop() ?? new SharedArrayBuffer(SLAB_BYTES));
      this.used = 0;
    }
    const held = Buffer.from(this.slabs.at(-1)!, this.used, content.length);
    content.copy(held);
    this.used += content.length;
    return held;
  }

  /** Gives the slabs back for reuse: nothing held may be read after. */
  release(): void {
    for (const slab of this.slabs.splice(0)) if (pool.length < POOL_SLABS) pool.push(slab);
    this.used = 0;
  }
}
