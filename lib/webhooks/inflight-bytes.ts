/** WEBHOOK_MAX_INFLIGHT_BYTES: webhook body bytes being read at once in this process (default 64 MB). */
export function webhookInflightLimit(): number {
  const raw = process.env.WEBHOOK_MAX_INFLIGHT_BYTES?.trim();
  const limit = raw ? Number(raw) : 64 * 1024 * 1024;
  if (!Number.isSafeInteger(limit) || limit < 1024 * 1024) {
    throw new Error(`WEBHOOK_MAX_INFLIGHT_BYTES must be a number of bytes of at least 1048576 (got "${raw}").`);
  }
  return limit;
}

/**
 * Bodies up to this size may use the whole budget; larger ones only up to seven eighths of it,
 * so that small genuine pushes still get through while large bodies fill the rest.
 */
export const SMALL_BODY = 1024 * 1024;

const globalForInflight = globalThis as unknown as { dataConnectorWebhookInflight?: { bytes: number } };
const inflight = (globalForInflight.dataConnectorWebhookInflight ??= { bytes: 0 });

/** Bytes currently reserved by webhook bodies being read (tests, metrics). */
export function webhookInflightBytes(): number {
  return inflight.bytes;
}

/** One body's share of the process-wide budget: grows as its bytes arrive, released once. */
export class InflightReservation {
  private held = 0;
  private released = false;

  /** Reserves `total` bytes in all for this body (no-op below what it holds); false when they do not fit. */
  reserve(total: number): boolean {
    if (this.released) return false;
    if (total <= this.held) return true;
    const limit = webhookInflightLimit();
    const ceiling = total <= SMALL_BODY ? limit : Math.floor((limit * 7) / 8);
    const extra = total - this.held;
    if (inflight.bytes + extra > ceiling) return false;
    inflight.bytes += extra;
    this.held = total;
    return true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    inflight.bytes -= this.held;
    this.held = 0;
  }
}
