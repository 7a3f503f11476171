/**
 * A batch is the files one statement writes and one process-file-batch job reads. It closes
 * with the file that brings it to SYNC_BATCH_FILES files (default 500) or to SYNC_BATCH_BYTES
 * bytes of content (default 16 MiB), so that a batch of large files does not hold them all in
 * memory at once.
 * Every batch costs a fixed set of statements (the queue's fetch and completion, the batch's
 * row, its index lookup), so a larger batch costs less per file. Read when used: a test may
 * set them.
 */
export function batchLimits(): { files: number; bytes: number } {
  return {
    files: positiveInteger("SYNC_BATCH_FILES", 500),
    bytes: positiveInteger("SYNC_BATCH_BYTES", 16 * 1024 * 1024),
  };
}

/** More changed files than this are fanned out to process-file-batch jobs (SYNC_FAN_OUT_THRESHOLD). */
export function fanOutThreshold(): number {
  return integerSetting("SYNC_FAN_OUT_THRESHOLD", 200, 0);
}

function positiveInteger(name: string, fallback: number): number {
  return integerSetting(name, fallback, 1);
}

function integerSetting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${name} must be a whole number of at least ${min}, not "${raw}".`);
  return value;
}

/** Counts a batch being filled: full once it holds `files` files or `bytes` bytes. */
export class BatchMeter {
  private count = 0;
  private size = 0;

  constructor(private readonly limits = batchLimits()) {}

  /** Adds an item of `bytes` (null: unknown, counted as nothing); true once the batch is full. */
  add(bytes: number | null): boolean {
    this.count++;
    this.size += bytes ?? 0;
    return this.count >= this.limits.files || this.size >= this.limits.bytes;
  }

  reset(): void {
    this.count = 0;
    this.size = 0;
  }
}

/** Splits `items` into batches within `limits` (see BatchMeter), in order. */
export function splitIntoBatches<T>(items: T[], sizeOf: (item: T) => number | null, limits = batchLimits()): T[][] {
  const batches: T[][] = [];
  const meter = new BatchMeter(limits);
  let current: T[] = [];
  for (const item of items) {
    current.push(item);
    if (meter.add(sizeOf(item))) {
      batches.push(current);
      current = [];
      meter.reset();
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
