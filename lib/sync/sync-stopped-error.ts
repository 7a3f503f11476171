/**
 * A sync that must not go on until a person acts (deletions to confirm, filters to fix): the
 * job fails at once, without retries, and the source shows the message in `statusDetail`.
 */
export class SyncStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyncStoppedError";
  }
}
