// Debian's x2goserver 4.1.0.3, run beside ours. Its SQLite file has a fixed place (the home of
// x2gouser); suites that use it save and restore whatever was there.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { lookupGroupId, lookupUser, type Account } from '../../src/system/accounts.js';
import { dropDatabase, ensurePostgres, PG_ADMIN_PASSWORD, pgPort } from './postgres.js';
import { run, type Result } from './system.js';
import { chownSync, chmodSync } from 'node:fs';

export const REFERENCE_LIB = '/usr/lib/x2go';
export const REFERENCE_WRAPPER = `${REFERENCE_LIB}/libx2go-server-db-sqlite3-wrapper`;
export const REFERENCE_DB = `${lookupUser('x2gouser')?.home ?? '/var/lib/x2go'}/x2go_sessions`;
/** The reference's PostgreSQL database: its name is fixed (x2godbadmin has no option for it). */
export const REFERENCE_PG_DB = 'x2go_sessions';

/** A reference helper by name: /usr/lib/x2go/<name>, or /usr/bin for x2gogetservers. */
export function referenceProgram(name: string): string {
  return name === 'x2gogetservers' ? '/usr/bin/x2gogetservers' : `${REFERENCE_LIB}/${name}`;
}

export function runReference(name: string, args: readonly string[], as?: Account): Result {
  return run(referenceProgram(name), args, as ? { as } : {});
}

/** Puts a copy of `file` where the reference reads its database, owned as the reference wants. */
export function installReferenceDb(file: string): void {
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(REFERENCE_DB + suffix, { force: true });
  copyFileSync(file, REFERENCE_DB);
  chownSync(REFERENCE_DB, 0, lookupGroupId('x2gouser') ?? 0);
  chmodSync(REFERENCE_DB, 0o660);
}

/** Saves the reference's database and returns the function that puts it back. */
export function preserveReferenceDb(): () => void {
  const saved = `${REFERENCE_DB}.x2godb-test-saved`;
  const had = existsSync(REFERENCE_DB);
  if (had) copyFileSync(REFERENCE_DB, saved);
  return () => {
    if (had) {
      installReferenceDb(saved);
      rmSync(saved, { force: true });
    } else rmSync(REFERENCE_DB, { force: true });
  };
}

/**
 * The reference's SQLite wrapper has no PostgreSQL twin (DB.pm calls PostgreSQL.pm in-process),
 * so for the same scenario on PostgreSQL the reference's side runs DB.pm's function of that
 * name and prints its result the way the SQLite wrapper prints: lists joined by newlines, a
 * value as it is, "ok" after a change that did not die (insertmount: when it returned true),
 * nothing after an error.
 */
const DBPM_AS_WRAPPER = `
use strict; use X2Go::Server::DB;
my $cmd = shift;
my $fn = ($cmd =~ /(listsessions.*root|rmsessionsroot|deletemounts)/ ? "dbsys_" : "db_") . $cmd;
my @r = eval { no strict 'refs'; &{"X2Go::Server::DB::$fn"}(@ARGV) };
exit 0 if $@;
if ($cmd =~ /^(list|getmounts|getdisplays|getports|getservers)/) { print join("\\n", @r) }
elsif ($cmd =~ /^get/) { print $r[-1] if defined $r[-1] }
elsif ($cmd eq "insertmount") { print "ok" if $r[-1] }
else { print "ok" }
`;

export function runReferenceDbpm(command: string, args: readonly string[], as?: Account): Result {
  return run('/usr/bin/perl', ['-e', DBPM_AS_WRAPPER, command, ...args], as ? { as } : {});
}

const SQL_CONFIG = '/etc/x2go/x2gosql/sql';
const PASSWORDS = '/etc/x2go/x2gosql/passwords';

/**
 * Points the reference at PostgreSQL (its configuration is /etc/x2go's and nowhere else) with
 * the test cluster's superuser password; returns the function that puts the files back.
 */
export function useReferencePostgres(adminPassword: string): () => void {
  const saved = new Map<string, string | undefined>();
  // x2gosessiond's: written by our x2godbadmin when x2go-sessiondb install runs it.
  for (const file of [SQL_CONFIG, `${PASSWORDS}/pgadmin`, `${PASSWORDS}/x2gopgadmin`, `${PASSWORDS}/x2gosessiond`]) {
    saved.set(file, existsSync(file) ? readFileSync(file, 'utf8') : undefined);
  }
  mkdirSync(PASSWORDS, { recursive: true });
  writeFileSync(SQL_CONFIG, `backend=postgres\n\n[postgres]\nhost=localhost\nport=${pgPort()}\ndbadmin=postgres\nssl=prefer\n`);
  writeFileSync(`${PASSWORDS}/pgadmin`, `${adminPassword}\n`, { mode: 0o600 });
  return () => {
    for (const [file, text] of saved) {
      if (text === undefined) rmSync(file, { force: true });
      else writeFileSync(file, text);
    }
  };
}

export const REFERENCE_PASSWORDS = PASSWORDS;

/**
 * Gives the system's x2goserver a fresh database made by the reference's own x2godbadmin: the
 * SQLite file, or x2go_sessions on the test cluster with `users` added. Returns the function
 * that puts back what was there (and drops x2go_sessions from the test cluster).
 */
export async function freshReferenceDb(backend: 'sqlite' | 'postgres', users: readonly string[] = []): Promise<() => void> {
  let restore: () => void;
  if (backend === 'sqlite') {
    restore = preserveReferenceDb();
  } else {
    ensurePostgres();
    dropDatabase(REFERENCE_PG_DB);
    const restoreConfig = useReferencePostgres(PG_ADMIN_PASSWORD);
    // The database goes too: its grants would keep its users' roles alive, cluster-wide, and
    // the next suite's x2godbadmin --rmuser would then keep the role ("used in other databases").
    restore = () => {
      restoreConfig();
      dropDatabase(REFERENCE_PG_DB);
    };
  }
  const steps = [['--createdb'], ...(backend === 'postgres' ? users.map((user) => ['--adduser', user]) : [])];
  for (const args of steps) {
    const r = run('/usr/sbin/x2godbadmin', args);
    if (r.code !== 0) {
      restore();
      throw new Error(`x2godbadmin ${args.join(' ')}: ${r.stderr}`);
    }
  }
  return restore;
}
