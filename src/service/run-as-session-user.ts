// The one place where an administrator's terminate or suspend becomes X2Go's own program run as
// the session's user (x2goterminate-session / x2gosuspend-session, found on PATH), as the user
// would run it: with the user's uid, gid and groups (setpriv --init-groups). Used by
// x2go-sessiondb's terminate/suspend for sessions on this node and by x2gosessiond for requests
// queued by another node. Kept to one small function on purpose: the privileged operations
// are moving into a separate root component, which will replace this body.

import { spawn } from 'node:child_process';
import type { AdminAction, Outcome } from '../model/farm.js';
import { lookupUser } from '../system/accounts.js';

const PROGRAMS: Record<AdminAction, string> = { terminate: 'x2goterminate-session', suspend: 'x2gosuspend-session' };
const DONE: Record<AdminAction, string> = { terminate: 'terminated', suspend: 'suspended' };
/** X2Go's programs wait for the agent; one that hangs longer than this counts as failed. */
const TIMEOUT_MS = 60_000;

export async function runAsSessionUser(
  action: AdminAction,
  session: { sessionId: string; uname: string; server: string },
): Promise<Outcome> {
  const program = PROGRAMS[action];
  const account = lookupUser(session.uname);
  if (!account) return { ok: false, outcome: `${session.server}: no user ${session.uname} on this host to run ${program} as` };
  const env = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: account.home,
    USER: account.name,
    LOGNAME: account.name,
  };
  return new Promise((resolve) => {
    const child = spawn(
      '/usr/bin/setpriv',
      ['--reuid', String(account.uid), '--regid', String(account.gid), '--init-groups', '--', program, session.sessionId],
      { env, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'], timeout: TIMEOUT_MS },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ ok: false, outcome: `${session.server}: cannot run ${program}: ${err.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ ok: true, outcome: `${DONE[action]} ${session.sessionId} on ${session.server}` });
      else {
        const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
        const last = stderr.trim().split('\n').pop() ?? '';
        resolve({ ok: false, outcome: `${session.server}: ${program} ${session.sessionId} ${why}${last ? `: ${last}` : ''}` });
      }
    });
  });
}
