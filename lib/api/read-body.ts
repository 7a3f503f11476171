/** Why a request body was not read to its end. */
export type BodyRefusal = "too_large" | "busy" | "timeout" | "bad_length";

/** A share of a byte budget shared by the bodies being read at once: grown as bytes arrive, released once. */
export type ByteBudget = { reserve(total: number): boolean; release(): void };

export type ReadBodyOptions = {
  /** The route's cap: a larger declared length is refused before reading, and the bytes are counted as they arrive. */
  maxBytes: number;
  /** The error thrown for each way a body is refused (each caller answers in its own format). */
  refuse: (reason: BodyRefusal) => Error;
  /** Sees every chunk as it arrives (a signature computed while the body streams in). */
  onChunk?: (chunk: Uint8Array) => void;
  /** The whole body must have arrived this long after reading began. */
  timeoutMs?: number;
  /** Reserved for the declared length before the first byte, then for the bytes that arrive. */
  budget?: ByteBudget;
};

/**
 * The one reader of request bodies: streams the body within its cap, budget and time limit,
 * counting the bytes that arrive whatever the Content-Length said, and stops reading (cancels the
 * stream) at the first limit passed.
 */
export async function readBody(request: Request, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes, refuse, onChunk, timeoutMs, budget } = options;
  const header = request.headers.get("content-length");
  const declared = header === null ? null : Number(header);
  if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0)) throw refuse("bad_length");
  if (declared !== null && declared > maxBytes) throw refuse("too_large");
  if (!request.body) return Buffer.alloc(0);

  const reader = request.body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const timedOut =
    timeoutMs === undefined
      ? null
      : new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(refuse("timeout")), timeoutMs);
        });
  try {
    if (declared !== null && budget && !budget.reserve(declared)) throw refuse("busy");
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await (timedOut ? Promise.race([reader.read(), timedOut]) : reader.read());
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw refuse("too_large");
      if (budget && !budget.reserve(size)) throw refuse("busy");
      onChunk?.(value);
      parts.push(value);
    }
    return Buffer.concat(parts, size);
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
    budget?.release();
  }
}
