// x2godbadmin: creates and updates the session database and, where the backend has users of
// its own, manages them. The flags are the reference's; --force and --config are ours.

import { parseArgs } from 'node:util';
import { loadBackend } from '../backends/backend.js';
import { resolve } from 'node:path';
import { CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR, loadBackendSection, loadSettings } from '../config/config.js';
import type { AdminBackend, AdminReport } from '../model/admin.js';
import { exitOnFailure, failure } from '../app/failure.js';
import { invalid } from '../model/errors.js';
import { writeAll } from './write-out.js';

const NAME = 'x2godbadmin';

// The reference's usage text, then ours.
const USAGE = `X2Go SQL admin interface. Use it to create x2go database and insert or remove users or groups in x2go database
Usage:
x2godbadmin --createdb [--force]
x2godbadmin --updatedb [--no-perl-nodes]
x2godbadmin --listusers
x2godbadmin --adduser|rmuser <UNIX user>
x2godbadmin --addgroup|rmgroup <UNIX group>
x2godbadmin --migrate-from-sqlite [FILE] [--force]

--migrate-from-sqlite  copy the SQLite database FILE (default: the [sqlite] one, or the
               reference's) into the [postgres] database: sessions, ports, mounts, history,
               and a role for each user; in one transaction, checked; again: changes nothing
--force        let --createdb replace a database that still holds sessions; let
               --migrate-from-sqlite copy into a database that holds other sessions
--no-perl-nodes  let --updatedb apply scope=per-server: no server runs the reference any more
--config DIR   read DIR/x2gosql/sql and DIR/x2goserver.conf instead of /etc/x2go (also ${CONFIG_DIR_ENV})
--help         this text
`;

type UserAction = 'listusers' | 'adduser' | 'rmuser' | 'addgroup' | 'rmgroup';
const ACTIONS = ['createdb', 'updatedb', 'listusers', 'adduser', 'rmuser', 'addgroup', 'rmgroup', 'migrate-from-sqlite'] as const;

/** The reference's answer when a user-management flag is given to a backend without users. */
const NO_USERS = 'Only "--createdb" and "--updatedb" options are available with SQLite3 backend';

function userAction(admin: AdminBackend, action: UserAction, value: string | undefined): Promise<AdminReport> {
  const method: ((value: string) => Promise<AdminReport>) | undefined = admin[action];
  if (!method) throw invalid(NO_USERS);
  return method.call(admin, value ?? '');
}

function output(report: AdminReport): { stdout: string; stderr: string; exitCode: number } {
  const stdout = report.lines.map((l) => `${l}\n`).join('');
  // What was done before a failure is printed too: it stays done (a migration run reports
  // each migration as applied, failed or not run).
  if (report.failure) return { stdout, ...failure(NAME, report.failure) };
  return { stdout, stderr: '', exitCode: 0 };
}

/**
 * The SQLite file (given, or the one [sqlite] of x2gosql/sql names, or the reference's) into
 * the database [postgres] names, whatever backend= says: the switch is made by migrating
 * first and changing backend= afterwards. Each side is its backend's admin; this only hands
 * the one's dump to the other.
 */
async function migrateFromSqlite(configDir: string, file: string | undefined, force: boolean): Promise<AdminReport> {
  const settings = loadSettings(configDir);
  const from = loadBackendSection(configDir, 'sqlite', file === undefined ? {} : { 'sqlite.path': resolve(file) });
  const source = await (await loadBackend('sqlite')).openAdmin({ ...settings, backend: from });
  const target = await (await loadBackend('postgres')).openAdmin({ ...settings, backend: loadBackendSection(configDir, 'postgres') });
  if (!source.exportSessions || !target.importSessions) throw invalid('this build cannot migrate between these backends');
  return target.importSessions(await source.exportSessions(), { force });
}

export async function adminMain(argv: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  try {
    if (process.getegid?.() !== process.getgid?.() || process.geteuid?.() !== process.getuid?.()) {
      throw invalid('refusing to run setuid or setgid');
    }
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      // Only --migrate-from-sqlite takes one (its optional FILE); refused below for the others.
      allowPositionals: true,
      options: {
        createdb: { type: 'boolean' },
        updatedb: { type: 'boolean' },
        listusers: { type: 'boolean' },
        adduser: { type: 'string' },
        rmuser: { type: 'string' },
        addgroup: { type: 'string' },
        rmgroup: { type: 'string' },
        'migrate-from-sqlite': { type: 'boolean' },
        force: { type: 'boolean' },
        'no-perl-nodes': { type: 'boolean' },
        config: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    const chosen = ACTIONS.filter((a) => values[a] !== undefined);
    const action = chosen[0];
    if (values.help || action === undefined) return { stdout: USAGE, stderr: '', exitCode: 0 };
    if (chosen.length > 1) throw invalid(`give one action at a time, not ${chosen.map((a) => `--${a}`).join(' and ')}`);
    if (values.force && !values.createdb && !values['migrate-from-sqlite']) {
      throw invalid('--force goes with --createdb or --migrate-from-sqlite only');
    }
    if (positionals.length > (action === 'migrate-from-sqlite' ? 1 : 0)) throw invalid(`unexpected argument '${positionals.at(-1)}'`);
    if (values['no-perl-nodes'] && !values.updatedb) throw invalid('--no-perl-nodes goes with --updatedb only');

    const configDir = values.config ?? (process.env[CONFIG_DIR_ENV] || DEFAULT_CONFIG_DIR);
    if (action === 'migrate-from-sqlite') return output(await migrateFromSqlite(configDir, positionals[0], values.force ?? false));
    const settings = loadSettings(configDir);
    const admin = await (await loadBackend(settings.backend.name)).openAdmin(settings);
    const report =
      action === 'createdb'
        ? await admin.createdb({ force: values.force ?? false })
        : action === 'updatedb'
          ? await admin.updatedb({ noPerlNodes: values['no-perl-nodes'] ?? false })
          : await userAction(admin, action, values[action] as string | undefined);
    return output(report);
  } catch (err) {
    return { stdout: '', ...failure(NAME, err) };
  }
}

adminMain(process.argv.slice(2)).then((res) => {
  if (res.stdout) writeAll(1, res.stdout);
  if (res.stderr) writeAll(2, res.stderr);
  // As x2godb: a client retrying a lost connection in the background must not keep us alive.
  process.exit(res.exitCode);
}, exitOnFailure(NAME));
