// The pure database helpers of /usr/lib/x2go (and /usr/bin/x2gogetservers): the names,
// arguments and stdout that x2gostartagent, x2goresume-session, x2gosuspend-session and friends
// call and parse. Each is a wrapper command with the helper's own way of printing.

import { readFileSync } from 'node:fs';
import { invalid } from '../model/errors.js';
import { parseServer, shown } from '../model/validate.js';
import { COMMANDS, rootSessions, type CommandSpec } from './commands.js';
import type { Output } from './format.js';
import type { HelperName } from './helper-names.js';

/**
 * How a helper prints: 'inserted' after a successful insert (x2gostartagent compares stdout to
 * it), 'nothing' for changes, 'output' as the wrapper prints, 'lines' with a newline after each
 * line (x2golistsessions_sql).
 */
export type HelperPrint = 'inserted' | 'nothing' | 'output' | 'lines';

export interface HelperSpec extends CommandSpec {
  print: HelperPrint;
}

function command(name: string): CommandSpec {
  const spec = COMMANDS[name];
  if (!spec) throw new Error(`no wrapper command ${name}`);
  return spec;
}

function like(name: string, print: HelperPrint): HelperSpec {
  return { ...command(name), print };
}

/** Whether the agent that ran a session is still alive: its command line names the session. */
export function agentRunning(pid: number | null, sessionId: string): boolean {
  if (pid === null) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(sessionId);
  } catch {
    return false;
  }
}

const resume = command('resume');

const DEFINED = {
  x2goinsertsession: like('insertsession', 'inserted'),
  x2goinsertshadowsession: like('insertshadowsession', 'inserted'),
  x2goinsertport: like('insertport', 'inserted'),
  x2gocreatesession: like('createsession', 'nothing'),
  x2gocreateshadowsession: like('createshadowsession', 'nothing'),
  x2gochangestatus: like('changestatus', 'nothing'),
  x2gormport: like('rmport', 'nothing'),
  x2gogetagent: like('getagent', 'output'),
  x2gogetstatus: like('getstatus', 'output'),
  x2gogetdisplays: like('getdisplays', 'output'),
  x2gogetports: like('getports', 'output'),
  // The reference's lines for its callers; --json (ours) adds the node registry's figures.
  x2gogetservers: {
    usage: '[--json]',
    print: 'output',
    readOnly: true,
    prepare: (a) => {
      if (a[0] === undefined) return command('getservers').prepare([]);
      if (a[0] !== '--json') throw invalid(`unknown option '${shown(a[0])}'; x2gogetservers takes only --json`);
      return async (db) => ({ kind: 'value', value: JSON.stringify(await db.getserverfigures()) });
    },
  },
  // x2goresume-session calls it without the telekinesis ports; they default to -1, as there.
  x2goresume: {
    oneStoreCall: true,
    usage: '<client> <session_id> <gr_port> <snd_port> <fs_port> [tekictrl_port] [tekidata_port]',
    print: 'nothing',
    prepare: (a) => resume.prepare([...a.slice(0, 5), a[5] ?? '-1', a[6] ?? '-1']),
  },
  // Ours: x2gostartagent's display and port loops in one step (contrib/x2gostartagent-reserve.patch);
  // one line with its newline, for the shell's read.
  x2goreservesession: like('reservesession', 'lines'),
  // Root's listing for x2gocleansessions; finished sessions whose agent is gone are purged on the
  // way, and still printed once, as the reference does.
  x2golistsessions_sql: {
    usage: '<server|--all-servers>',
    rootOnly: true,
    print: 'lines',
    prepare: (a) => {
      const server = a[0] === '--all-servers' ? undefined : parseServer(a[0] ?? '');
      return async (db): Promise<Output> => {
        const listing = server === undefined ? await db.listsessionsroot_all() : await db.listsessionsroot(server);
        for (const row of listing.rows) {
          if (row.status === 'F' && !agentRunning(row.agentPid, row.sessionId)) await db.rmsessionsroot(row.sessionId);
        }
        return rootSessions(listing);
      };
    },
  },
} satisfies Record<HelperName, HelperSpec>;

/** Every helper, by name: exactly the names of helper-names.ts. */
export const HELPERS: Readonly<Record<string, HelperSpec>> = DEFINED;
