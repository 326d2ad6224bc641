/** The error rangeGet throws for protocol-level failures. */

/** A protocol-level failure (bad status line, unsupported encoding, closed early): retrying may help. */
export class RangeProtocolError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "RangeProtocolError";
  }
}
