// What the code-cache training run does (see loader.ts): the common paths of a helper call, so
// that V8 compiles them once and caches the result. A throwaway SQLite database under the
// system's temporary directory; then, given the server's configuration directory, two
// read-only root listings on the configured database, so that its client's paths are compiled
// too (skipped quietly when the database cannot be reached).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBackend } from '../backends/backend.js';
import { loadSettings } from '../config/config.js';
import { dispatch } from '../app/dispatch.js';

const SID = 'train-51-1700000051_stDxfce_dp24';

export async function train(configDir?: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'x2godb-train-'));
  try {
    mkdirSync(join(dir, 'x2gosql'));
    writeFileSync(join(dir, 'x2gosql', 'sql'), `backend=sqlite\n[sqlite]\npath=${join(dir, 'x2go_sessions')}\n`);
    const settings = loadSettings(dir);
    await (await (await loadBackend('sqlite')).openAdmin(settings)).createdb({ force: true });
    // As root: every command may run. Output is discarded.
    const caller = { uid: 0, name: 'root' };
    const calls: [string, string[]][] = [
      ['x2goinsertsession', ['51', 'train', SID]],
      ['x2goinsertport', ['train', SID, '30001']],
      ['x2gocreatesession', [SID, 'abcdef', '1', '10.0.0.1', '30001', '30002', '30003', '-1', '-1']],
      ['x2gogetdisplays', ['train']],
      ['x2gogetports', ['train']],
      ['x2gogetservers', []],
      ['x2gogetstatus', [SID]],
      ['x2gogetagent', [SID]],
      ['x2gochangestatus', ['S', SID]],
      ['x2goresume', ['10.0.0.2', SID, '30001', '30002', '30003']],
      ['x2gormport', ['train', SID, '30001']],
      ['x2godb', ['listsessions', 'train']],
      ['x2godb', ['listsessions_all']],
      ['x2godb', ['listshadowsessions', 'train']],
      ['x2godb', ['insertmount', SID, '/tmp/train', '10.0.0.2']],
      ['x2godb', ['getmounts', SID]],
      ['x2godb', ['deletemount', SID, '/tmp/train']],
      ['x2golistsessions_sql', ['train']],
      ['x2godb', ['getstatus', 'not a session id']],
      ['x2godb', ['rmsessionsroot', SID]],
    ];
    for (const [program, args] of calls) {
      await dispatch({ caller, program, args, configDir: dir, mayChooseConfig: true });
    }
    // PostgreSQL: the backend's module at least; its client's paths when a server answers.
    await loadBackend('postgres');
    if (configDir !== undefined) {
      for (const args of [['getservers'], ['listsessionsroot_all']]) {
        await dispatch({ caller, program: 'x2godb', args, configDir, mayChooseConfig: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
