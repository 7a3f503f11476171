// How a job attempt stops early; the engine and the delivery code both throw and catch them.

export class SyncCancelledError extends Error {
  constructor() {
    super("The job was cancelled.");
    this.name = "SyncCancelledError";
  }
}

/**
 * The attempt has been fenced off: its job was cancelled, another handler took it over, or its
 * source was deleted. It stops at once and writes nothing more, the job's status included.
 */
export class StaleAttemptError extends SyncCancelledError {
  constructor() {
    super();
    this.message = "This sync attempt was superseded (cancelled, taken over or its source deleted).";
    this.name = "StaleAttemptError";
  }
}
