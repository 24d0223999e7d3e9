/** Exit codes scripts can rely on (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The server refused the request (a 4xx answer). */
  refused: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The server could not be reached, or failed (a 5xx answer). */
  unavailable: 3,
  /** Verify finished and found damage. */
  damaged: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
