// One error type for everything the session database refuses or fails to do. The code decides
// the exit status; the message is one line meant for an administrator and never carries SQL or
// bound values from the driver (the driver's error is kept as `cause` for debugging only).

export type ErrorCode =
  /** An argument or input file is malformed, out of range, or names someone else's session. */
  | 'invalid'
  /** The caller may not run this command at all (e.g. a root-only command). */
  | 'denied'
  /** The change clashes with what is stored (display or port taken, session already there). */
  | 'conflict'
  /** The session the command names does not exist (or is not visible to the caller). */
  | 'not-found'
  /** The configuration cannot be read or makes no sense. */
  | 'config'
  /** The database cannot be opened or reached. */
  | 'unavailable'
  /** Anything else that went wrong while talking to the database. */
  | 'failed';

export class SessionDbError extends Error {
  override readonly name = 'SessionDbError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Exit status per error code; 0 is success. Usage errors and bad input share 2, as getopt tools do. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  failed: 1,
  conflict: 1,
  'not-found': 1,
  invalid: 2,
  denied: 3,
  config: 4,
  unavailable: 4,
};

export function invalid(message: string): SessionDbError {
  return new SessionDbError('invalid', message);
}
