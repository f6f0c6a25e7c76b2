// How every program (x2godb and the helpers, x2godbadmin, x2go-sessiondb, x2gosessiond) turns an
// error into what its caller sees: one line on stderr, "<program>: <what went wrong>", and an
// exit code. One place, so that the programs agree on the codes (model/errors.ts) and on never
// printing a stack or a second line. Small on purpose: every helper call loads it.

import { EXIT_CODES, SessionDbError } from '../model/errors.js';
import { writeAll } from '../cli/write-out.js';

export interface Failure {
  stderr: string;
  exitCode: number;
}

/** What marks a program's own usage errors (exit 2), beside SessionDbError 'invalid' and parseArgs' errors. */
export type IsUsageError = (err: unknown) => boolean;

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function field(err: unknown, name: 'code' | 'stderr' | 'syscall'): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

/**
 * The line and exit code for an error. SessionDbError: its message and its code's exit status.
 * Usage (parseArgs' ERR_PARSE_ARGS_*, or what the program marks as usage): 2. A failed child
 * command (execFileSync): its message and the first line it printed, 1. A failed system call:
 * its message, 1. Anything else is a bug of ours: "internal error", 1.
 */
export function failure(program: string, err: unknown, isUsage?: IsUsageError): Failure {
  const line = (text: string, exitCode: number): Failure => ({ stderr: `${program}: ${firstLine(text)}\n`, exitCode });
  if (err instanceof SessionDbError) return line(err.message, EXIT_CODES[err.code]);
  const message = err instanceof Error ? err.message : String(err);
  const code = field(err, 'code');
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return line(`${firstLine(message)}; see ${program} --help`, 2);
  if (isUsage?.(err)) return line(message, 2);
  const printed = field(err, 'stderr');
  const stderr = Buffer.isBuffer(printed) ? printed.toString('utf8') : printed;
  if (typeof stderr === 'string' && stderr.trim()) return line(`${firstLine(message)}: ${firstLine(stderr.trim())}`, 1);
  if (typeof field(err, 'syscall') === 'string') return line(message, 1);
  return line(`internal error: ${firstLine(message)}`, 1);
}

/** Reports the error as failure() words it and exits: the last handler of a program's main promise. */
export function exitOnFailure(program: string, isUsage?: IsUsageError): (err: unknown) => never {
  return (err) => {
    const { stderr, exitCode } = failure(program, err, isUsage);
    writeAll(2, stderr);
    process.exit(exitCode);
  };
}
