/** A binary the real-service harness needs is not installed. */
export class MissingBinaryError extends Error {
  override readonly name = 'MissingBinaryError';
  constructor(
    readonly binary: string,
    readonly debianPackage: string,
  ) {
    super(
      `${binary} not found. Install the Debian package: sudo apt-get install -y ${debianPackage}` +
        ` (or run: npm run setup as root)`,
    );
  }
}

/** A service did not become ready in time; `log` holds the tail of its output. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  constructor(
    readonly service: string,
    message: string,
    readonly log: string,
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${message}\n--- last output ---\n${log}`, options);
  }
}
