// What the resident service may ask the root helper x2gosessiond-runas (main.ts): run one of two
// x2goserver programs for one session, as that session's user. One JSON line each way over a
// Unix socket that only the service's account may connect to. Kept apart from the service's own
// protocol: this is the one privileged operation, and it has its own small, reviewable edge.

export const DEFAULT_RUNAS_SOCKET = '/run/x2go-sessiondb-runas/runas.sock';

/** The only programs it runs: x2goserver's, by name, from its program directory (/usr/bin). */
export const RUNAS_PROGRAMS = ['x2goterminate-session', 'x2gosuspend-session'] as const;
export type RunAsProgram = (typeof RUNAS_PROGRAMS)[number];

/** A request is one line of at most this many bytes, newline included. */
export const MAX_RUNAS_REQUEST = 1024;

export interface RunAsRequest {
  program: RunAsProgram;
  session: string;
}

/** The program's exit code and the last line it wrote on stderr, or why it was not run. */
export interface RunAsAnswer {
  exitCode: number;
  stderr: string;
}

export function isRunAsProgram(value: unknown): value is RunAsProgram {
  return typeof value === 'string' && (RUNAS_PROGRAMS as readonly string[]).includes(value);
}
