/**
 * Stable exit codes, documented in the README. Scripts may rely on them; never renumber.
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  DAEMON_UNREACHABLE: 3,
  NOT_FOUND: 4,
  ALREADY_RUNNING: 5,
  UNAUTHORIZED: 6,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
