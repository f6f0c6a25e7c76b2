import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isTrue, loadSettings } from '../src/config/config.js';
import { parseIni } from '../src/config/ini.js';
import { SessionDbError } from '../src/model/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'x2godb-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configDir(name: string, sql: string | undefined, server?: string): string {
  const d = join(dir, name);
  mkdirSync(join(d, 'x2gosql'), { recursive: true });
  if (sql !== undefined) writeFileSync(join(d, 'x2gosql', 'sql'), sql);
  if (server !== undefined) writeFileSync(join(d, 'x2goserver.conf'), server);
  return d;
}

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof SessionDbError && err.code === 'config' && pattern.test(err.message) && !err.message.includes('\n'),
  );
}

describe('configuration files', () => {
  test("the reference's own /etc/x2go/x2gosql/sql parses: backend, [postgres] defaults", () => {
    const ini = parseIni('# postgres or sqlite\nbackend=sqlite\n\n[postgres]\nhost=localhost\nport=5432\n; comment\nssl=prefer\n', 'sql');
    assert.equal(ini.get('default.backend'), 'sqlite');
    assert.equal(ini.get('postgres.port'), '5432');
  });

  test('quoted values lose their quotes, as with Config::Simple', () => {
    assert.equal(parseIni('[x2goagent]\nport_randomization="pure-random"\n', 'f').get('x2goagent.port_randomization'), 'pure-random');
  });

  test('a malformed line is one clear error with file and line number', () => {
    configError(() => parseIni('backend=sqlite\nthis is not ini\n', '/etc/x2go/x2gosql/sql'), /^\/etc\/x2go\/x2gosql\/sql:2: /);
  });

  test('settings: sqlite path relative to the config directory, telekinesis from x2goserver.conf', () => {
    const d = configDir('ok', 'backend=sqlite\n[sqlite]\npath=db/x2go_sessions\n', '[telekinesis]\nenable=yes\n[log]\nloglevel=debug\n');
    const s = loadSettings(d);
    assert.equal(s.backend.name, 'sqlite');
    assert.ok(s.backend.name === 'sqlite');
    assert.equal(s.backend.path, join(d, 'db/x2go_sessions'));
    assert.equal(s.backend.pathIsDefault, false);
    assert.equal(s.telekinesis, true);
    assert.equal(s.logLevel, 'debug');
    // The [postgres] defaults, now read for backend=postgres only (issue 11: backends own their settings).
    const pg = loadSettings(configDir('pg-defaults', 'backend=postgres\n')).backend;
    assert.deepEqual(pg, {
      name: 'postgres',
      targets: [{ host: 'localhost', port: 5432 }],
      dbadmin: 'postgres',
      ssl: 'prefer',
      database: 'x2go_sessions',
      scope: 'farm',
    });
  });

  test("each backend reads its own section only: PostgreSQL's settings are PostgreSQL's, SQLite ignores [postgres]", () => {
    // The flat record read every backend's section: a broken [postgres] stopped a SQLite server.
    const sqlite = loadSettings(configDir('own-sqlite', 'backend=sqlite\n[sqlite]\npath=x\n[postgres]\nssl=maybe\nport=99999\n'));
    assert.deepEqual(sqlite.backend, { name: 'sqlite', path: join(dir, 'own-sqlite', 'x'), pathIsDefault: false });
    // No SQLite path (and no x2gouser account looked up) on PostgreSQL.
    const pg = loadSettings(configDir('own-pg', 'backend=postgres\n[sqlite]\npath=x\n[postgres]\nhost=db1,db2\ndatabase=farm\n'));
    assert.deepEqual(pg.backend, {
      name: 'postgres',
      targets: [
        { host: 'db1', port: 5432 },
        { host: 'db2', port: 5432 },
      ],
      dbadmin: 'postgres',
      ssl: 'prefer',
      database: 'farm',
      scope: 'farm',
    });
  });

  test('without [sqlite] path the file is x2go_sessions in the home of x2gouser, as in the reference', () => {
    const s = loadSettings(configDir('default', 'backend=sqlite\n')).backend;
    assert.ok(s.name === 'sqlite');
    assert.equal(s.pathIsDefault, true);
    // x2gouser exists where x2goserver is installed; elsewhere there is no default.
    assert.ok(s.path === undefined || s.path.endsWith('/x2go_sessions'));
  });

  test('is_true is a substring match, as in X2Go::Utils', () => {
    for (const v of ['1', 'yes', 'on', 'true', 'TRUE', 'none']) assert.ok(isTrue(v), v);
    for (const v of ['no', '0', 'off', 'false', '', undefined]) assert.ok(!isTrue(v), String(v));
  });

  test('missing, unreadable or unsupported configuration: one clear line', () => {
    configError(() => loadSettings(join(dir, 'nowhere')), /cannot read .*nowhere\/x2gosql\/sql: no such file/);
    configError(() => loadSettings(configDir('mysql', 'backend=mysql\n')), /backend=mysql is not supported/);
    configError(() => loadSettings(configDir('nobackend', '[postgres]\nhost=x\n')), /backend= is not supported/);
    configError(() => loadSettings(configDir('badssl', 'backend=postgres\n[postgres]\nssl=maybe\n')), /ssl must be one of/);
    configError(() => loadSettings(configDir('badport', 'backend=postgres\n[postgres]\nport=99999\n')), /port '99999' is not a TCP port/);
  });
});

describe('several PostgreSQL hosts (a primary and its standbys)', () => {
  const targetsOf = (name: string, section: string) => {
    const backend = loadSettings(configDir(name, `backend=postgres\n[postgres]\n${section}`)).backend;
    return backend.name === 'postgres' ? backend.targets : undefined;
  };

  test("host=a,b with one port for all, libpq's port list (one per host), or host:port, in order", () => {
    assert.deepEqual(targetsOf('hosts-one-port', 'host=db1, db2\nport=5433\n'), [
      { host: 'db1', port: 5433 },
      { host: 'db2', port: 5433 },
    ]);
    assert.deepEqual(targetsOf('hosts-port-list', 'host=db1,10.0.0.2\nport=5432,5433\n'), [
      { host: 'db1', port: 5432 },
      { host: '10.0.0.2', port: 5433 },
    ]);
    assert.deepEqual(targetsOf('hosts-own-port', 'host=db1:6432,[::1]:5433,fe80::1\n'), [
      { host: 'db1', port: 6432 },
      { host: '::1', port: 5433 },
      { host: 'fe80::1', port: 5432 },
    ]);
  });

  test('a port list of another length, an empty host or a bad port: one line naming the file, exit 4', () => {
    configError(() => targetsOf('hosts-ports-3', 'host=a,b\nport=1,2,3\n'), /port= names 3 ports for 2 hosts/);
    configError(() => targetsOf('hosts-empty', 'host=a,,b\n'), /host '' is not a host name or address/);
    configError(() => targetsOf('hosts-bad-port', 'host=a:99999\n'), /port '99999' is not a TCP port/);
    configError(() => targetsOf('hosts-space', 'host=a b\n'), /host 'a b' is not a host name/);
  });
});

describe('the display and port scope', () => {
  test('farm by default; per-server only for PostgreSQL; anything else is an error', () => {
    const scopeOf = (d: string) => {
      const backend = loadSettings(d).backend;
      return backend.name === 'postgres' ? backend.scope : undefined;
    };
    assert.equal(scopeOf(configDir('scope-default', 'backend=postgres\n')), 'farm');
    assert.equal(scopeOf(configDir('scope-pg', 'backend=postgres\nscope=per-server\n')), 'per-server');
    configError(
      () => loadSettings(configDir('scope-sqlite', 'backend=sqlite\nscope=per-server\n[sqlite]\npath=x\n')),
      /scope=per-server needs backend=postgres/,
    );
    configError(
      () => loadSettings(configDir('scope-bad', 'backend=postgres\nscope=global\n')),
      /scope=global is not one of farm, per-server/,
    );
  });

  test('[quota]: 20 sessions and 100 ports per user by default; whole numbers 1-65535, else an error naming the key', () => {
    assert.deepEqual(loadSettings(configDir('quota-default', 'backend=sqlite\n[sqlite]\npath=x\n')).quota, {
      sessionsPerUser: 20,
      portsPerUser: 100,
    });
    assert.deepEqual(
      loadSettings(configDir('quota-set', 'backend=sqlite\n[sqlite]\npath=x\n[quota]\nsessions_per_user=5\nports_per_user=40\n')).quota,
      { sessionsPerUser: 5, portsPerUser: 40 },
    );
    for (const bad of ['0', '-1', 'many', '70000', '1e3']) {
      const d = configDir(`quota-${bad}`, `backend=sqlite\n[sqlite]\npath=x\n[quota]\nports_per_user=${bad}\n`);
      configError(() => loadSettings(d), /x2gosql\/sql: \[quota\] ports_per_user=\S+ is not a whole number from 1 to 65535$/);
    }
  });
});
