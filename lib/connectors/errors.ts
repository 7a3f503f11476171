/** What went wrong talking to a provider, phrased as what the user must do about it. */
export class ConnectorError extends Error {
  readonly retryable: boolean;
  /** The provider's HTTP status when the error is its answer. */
  readonly status: number | undefined;
  constructor(message: string, options: { retryable?: boolean; cause?: unknown; status?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = "ConnectorError";
    this.retryable = options.retryable ?? false;
    this.status = options.status;
  }
}

/** The configuration cannot work (bad path, repository not found): fix the source's config. */
export class ConnectorConfigError extends ConnectorError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ConnectorConfigError";
  }
}

/** The provider does not know the repository, branch, file or hook asked for (HTTP 404). */
export class ConnectorNotFoundError extends ConnectorConfigError {
  constructor(message: string, field?: string) {
    super(message, field);
    this.name = "ConnectorNotFoundError";
  }
}

/** The type names no connector. */
export class UnknownSourceTypeError extends Error {
  constructor(
    readonly type: string,
    validTypes: readonly string[],
  ) {
    super(`Unknown source type "${type}". Valid types: ${validTypes.join(", ")}.`);
    this.name = "UnknownSourceTypeError";
  }
}

/** The credential is missing, expired or revoked: the source needs to be reconnected. */
export class ConnectorAuthError extends ConnectorError {
  readonly requiresReauth = true;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "ConnectorAuthError";
  }
}

/** The provider asked us to slow down until `retryAt`. */
export class ConnectorRateLimitError extends ConnectorError {
  constructor(
    message: string,
    readonly retryAt: Date,
  ) {
    super(message, { retryable: true });
    this.name = "ConnectorRateLimitError";
  }
}

/** A transient failure (network, 5xx): retry later. */
export class ConnectorSyncError extends ConnectorError {
  constructor(message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, { retryable: true, ...options });
    this.name = "ConnectorSyncError";
  }
}

/** One file cannot be read (vanished, unreadable, refused): record it and go on. */
export class ConnectorFileError extends ConnectorError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = "ConnectorFileError";
  }
}
