import { readBody, type BodyRefusal } from "@/lib/api/read-body";
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

function refusal(reason: BodyRefusal, maxBytes: number): WebhookRefusal {
  switch (reason) {
    case "too_large":
      return new WebhookRefusal("too_large", `Bodies sent to this webhook are limited to ${maxBytes} bytes.`);
    case "busy":
      return new WebhookRefusal(
        "busy",
        "Too many webhook bytes are being received right now; retry after a few seconds.",
      );
    case "timeout":
      return new WebhookRefusal(
        "timeout",
        `The webhook body did not arrive within ${WEBHOOK_BODY_TIMEOUT_MS / 1000} s.`,
      );
    case "bad_length":
      return new WebhookRefusal("bad_request", "The Content-Length header is not a number of bytes.");
  }
}

/**
 * A webhook body, read by the one body reader within its route's cap, the process-wide
 * in-flight budget (WEBHOOK_MAX_INFLIGHT_BYTES: a body that would pass it is refused as busy,
 * 503) and WEBHOOK_BODY_TIMEOUT_MS (408).
 */
export function readWebhookBody(request: Request, options: ReadWebhookBodyOptions): Promise<Buffer> {
  return readBody(request, {
    ...options,
    timeoutMs: WEBHOOK_BODY_TIMEOUT_MS,
    budget: new InflightReservation(),
    refuse: (reason) => refusal(reason, options.maxBytes),
  });
}
