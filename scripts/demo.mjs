// The quick start's main job: a session database under the checkout (var/), and one X2Go
// session walked through its life with the real programs, as x2goserver's scripts call them.
// No root needed: the file is yours, so you may also run the root-only purge on it.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const configDir = join(root, 'var', 'etc-x2go');
const database = join(root, 'var', 'x2go_sessions');

mkdirSync(join(configDir, 'x2gosql'), { recursive: true });
writeFileSync(join(configDir, 'x2gosql', 'sql'), `backend=sqlite\n\n[sqlite]\npath=${database}\n`);
writeFileSync(join(configDir, 'x2goserver.conf'), '[telekinesis]\nenable=no\n');

const env = { ...process.env, X2GO_CONFIG_DIR: configDir };
const user = userInfo().username.replace(/\\/g, '');
const server = hostname().split('.')[0] || 'x2goserver';
const sid = `${user}-51-${Math.floor(Date.now() / 1000)}_stDxfce4-session_dp24`;

function run(title, program, ...args) {
  const file = program.startsWith('x2godb') ? join(dist, `${program}.cjs`) : join(dist, 'helpers', program);
  const shown = [program, ...args].join(' ');
  const result = spawnSync(process.execPath, [file, ...args], { env, encoding: 'utf8' });
  process.stdout.write(`\n# ${title}\n$ ${shown}\n`);
  if (result.stdout) process.stdout.write(result.stdout.endsWith('\n') ? result.stdout : `${result.stdout}\n`);
  if (result.stderr) process.stdout.write(result.stderr);
  if (result.status !== 0) {
    process.stdout.write(`(exit ${result.status})\n`);
    process.exit(1);
  }
}

process.stdout.write(`Session database: ${database}\nConfiguration:    ${configDir}\n`);
run('create the database (replacing an earlier demo run)', 'x2godbadmin', '--createdb', '--force');
run('x2gostartagent reserves display 51 for the new session', 'x2goinsertsession', '51', server, sid);
run('... and three ports: graphics, sound, file sharing', 'x2goinsertport', server, sid, '30001');
run('', 'x2goinsertport', server, sid, '30002');
run('', 'x2goinsertport', server, sid, '30003');
run('displays and ports now taken on this server', 'x2gogetdisplays', server);
run('', 'x2gogetports', server);
run(
  'the agent is up: cookie, pid, client and ports are recorded',
  'x2gocreatesession',
  sid,
  'a3f0c3e1b2d4f6a8c0e2b4d6f8a0c2e4',
  String(process.pid),
  '192.0.2.10',
  '30001',
  '30002',
  '30003',
  '-1',
  '-1',
);
run("the user's session list (what x2golistsessions prints)", 'x2godb', 'listsessions', server);
run('the client disconnects: x2gosuspend-session marks it suspended', 'x2gochangestatus', 'S', sid);
run('', 'x2gogetstatus', sid);
run('the client comes back from another address: x2goresume-session', 'x2goresume', '192.0.2.20', sid, '30001', '30002', '30003');
run('', 'x2godb', 'listsessions', server);
run('the user logs out: x2goterminate-session marks it finished', 'x2gochangestatus', 'F', sid);
run(
  'x2gocleansessions purges finished sessions whose agent is gone (root only; here the file is yours)',
  'x2golistsessions_sql',
  '--all-servers',
);
run('the session, its ports and its display are gone', 'x2godb', 'listsessionsroot_all');
run('', 'x2godb', '--json', 'getservers');
process.stdout.write('\nDone. Run the whole test suite with: npm test\n');
