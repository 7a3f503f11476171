import { InflightReservation } from "./inflight-bytes";
import { WebhookRefusal } from "./refusals";

/** Every webhook body must have arrived this long after its reading began. */
export const WEBHOOK_BODY_TIMEOUT_MS = 10_000;

export type ReadWebhookBodyOptions = {
  /** The route's own cap, enforced on the bytes as they arrive (chunked bodies too). */
  maxBytes: number;
  /** Sees every chunk as it arrives (a signature computed while the body streams in). */
  onChunk?: (chunk: Uint8Array) => void;
};

/**
 * Reads a webhook body within its route's cap, the process-wide in-flight budget
 * (WEBHOOK_MAX_INFLIGHT_BYTES: a body that would pass it is refused as busy, 503) and
 * WEBHOOK_BODY_TIMEOUT_MS (408). The declared length is checked and reserved before the first
 * byte is read; the bytes counted are the ones that arrive, whatever was declared.
 */
export async function readWebhookBody(request: Request, options: ReadWebhookBodyOptions): Promise<Buffer> {
  const { maxBytes, onChunk } = options;
  const tooLarge = () =>
    new WebhookRefusal("too_large", `Bodies sent to this webhook are limited to ${maxBytes} bytes.`);
  const busy = () =>
    new WebhookRefusal("busy", "Too many webhook bytes are being received right now; retry after a few seconds.");
  const header = request.headers.get("content-length");
  const declared = header === null ? null : Number(header);
  if (declared !== null && !(Number.isSafeInteger(declared) && declared >= 0))
    throw new WebhookRefusal("bad_request", "The Content-Length header is not a number of bytes.");
  if (declared !== null && declared > maxBytes) throw tooLarge();
  if (!request.body) return Buffer.alloc(0);

  const reservation = new InflightReservation();
  const reader = request.body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new WebhookRefusal("timeout", `The webhook body did not arrive within ${WEBHOOK_BODY_TIMEOUT_MS / 1000} s.`),
        ),
      WEBHOOK_BODY_TIMEOUT_MS,
    );
  });
  try {
    if (declared !== null && !reservation.reserve(declared)) throw busy();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timedOut]);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge();
      if (!reservation.reserve(size)) throw busy();
      onChunk?.(value);
      parts.push(value);
    }
    return Buffer.concat(parts, size);
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
    reservation.release();
  }
}
