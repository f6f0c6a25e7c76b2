// The process edge of x2godb and of the helper entry points: who is calling, which configuration
// may be used, then dispatch, then stdout and the exit code.
//
// Through the setgid launcher (egid x2gouser, environment cleared) nothing the caller controls
// may choose what we open: the launcher puts a marker, its compiled-in configuration directory
// and the program name before the caller's arguments, and only those are used. Run directly,
// --config and X2GO_CONFIG_DIR are honoured, since the caller then has no more rights than their own.

import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR } from '../config/config.js';
import { dispatch, MULTICALL, type Request } from '../app/dispatch.js';
import { exitOnFailure } from '../app/failure.js';
import { isListingProgram } from '../app/helper-names.js';
import { writeAll } from './write-out.js';

/** The setgid launcher's first argument; what follows is <config dir> <program> <args...>. */
export const LAUNCHER_MARK = '--x2godb-launcher';

function request(argv: readonly string[]): Request | string {
  const uid = process.getuid?.() ?? -1;
  if (process.geteuid?.() !== uid) return 'refusing to run setuid; install the setgid launcher instead';
  const caller = { uid, name: userInfo().username };
  const privileged = process.getegid?.() !== process.getgid?.();

  if (argv[0] === LAUNCHER_MARK) {
    const [, configDir, program, ...args] = argv;
    if (!configDir || !program) return 'malformed launcher arguments';
    return { caller, program, args, configDir, mayChooseConfig: false };
  }
  if (privileged) return 'running with a foreign group but not through the x2godb launcher; refusing';

  // Called by name: a symlink named like a reference helper runs that helper.
  return {
    caller,
    program: basename(process.argv[1] ?? MULTICALL).replace(/\.[cm]?js$/, ''),
    args: argv,
    configDir: process.env[CONFIG_DIR_ENV] || DEFAULT_CONFIG_DIR,
    mayChooseConfig: true,
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const req = request(argv);
  if (typeof req === 'string') {
    writeAll(2, `${MULTICALL}: ${req}\n`);
    return 2;
  }
  // x2golistsessions, x2golistshadowsessions run by the user without the launcher: this process
  // is the caller's side too (through the launcher, the launcher is).
  if (req.mayChooseConfig && isListingProgram(req.program)) {
    const caller = await import('./listing-caller.js');
    const ask = (report: string) => dispatch({ ...req, args: [report, ...req.args] });
    let res = await ask(caller.firstReport());
    const needs = caller.needsOf(res);
    if (needs.length > 0) res = await ask(caller.secondReport(needs));
    return caller.finish(req.program, res);
  }
  const res = await dispatch(req);
  if (res.stdout) writeAll(1, res.stdout);
  if (res.stderr) writeAll(2, res.stderr);
  return res.exitCode;
}

/** Runs x2godb or a helper in this process and exits; the loader (loader.ts) calls it. */
export function run(argv: readonly string[]): void {
  // Exit as soon as the answer is written (write(2) is synchronous): a database client that
  // still retries a lost connection in the background must not keep a helper alive.
  main(argv).then((code) => process.exit(code), exitOnFailure(MULTICALL));
}

export { train } from './train.js';
