// x2godbadmin on PostgreSQL: the database, root's role x2godbuser, and one role per UNIX user.
// Connects as [postgres] dbadmin with <config>/x2gosql/passwords/pgadmin, as the reference does.
// Unlike the reference: passwords come from node's cryptographic generator and reach the server
// only as SCRAM verifiers; names are validated and quoted by one function; every action is
// idempotent and reported in one line; nothing is dropped that still holds sessions.

import { chmodSync, chownSync, lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminBackend, AdminReport } from '../../model/admin.js';
import type { Settings } from '../../model/backend.js';
import { invalid, SessionDbError } from '../../model/errors.js';
import { describeMigrations, failedMigration, migrationLabel } from '../../model/migrations.js';
import { groupMembers, lookupGroupId, lookupUser, type Account } from '../../system/accounts.js';
import { asUser } from '../../system/privileges.js';
import { SERVICE_USER, serviceAccount } from '../../system/service-account.js';
import { connect, describeTarget, type ConnectionSql, type Sql } from './connection.js';
import { legacyServiceLoginFile, passwordsDir, readPasswordFile, serviceLoginFile, type Login } from './credentials.js';
import { mapPgError } from './errors.js';
import { SQLSTATE, sqlStateOf } from './sqlstate.js';
import {
  ADMIN_ROLE,
  generatePassword,
  quoteIdent,
  quoteVerifier,
  scramVerifier,
  SERVICE_ROLE,
  USER_ROLE_PREFIX,
  USERS_GROUP_ROLE,
  userRole,
} from './identifiers.js';
import { importDump, otherSessions } from './import.js';
import { migrate, schemaVersion } from './migrate.js';
import { type SessionDump, usersOf } from '../../model/transfer.js';
import type { PostgresSettings } from './settings.js';

/** [postgres] dbadmin with <config>/x2gosql/passwords/pgadmin, as the reference connects for x2godbadmin. */
export function dbadminLogin(settings: Settings<PostgresSettings>): Login {
  const path = join(passwordsDir(settings.configDir), 'pgadmin');
  return {
    user: settings.backend.dbadmin,
    password: readPasswordFile(path, 0, `put the password of [postgres] dbadmin there (root-owned, mode 600)`),
  };
}

/** The maintenance database to connect to when the session database is created or dropped. */
const MAINTENANCE_DB = 'postgres';

export class PostgresAdmin implements AdminBackend {
  readonly #settings: Settings<PostgresSettings>;
  readonly #pg: PostgresSettings;
  readonly #target: string;

  constructor(settings: Settings<PostgresSettings>) {
    this.#settings = settings;
    this.#pg = settings.backend;
    this.#target = describeTarget(settings.backend);
  }

  get #database(): string {
    return this.#pg.database;
  }

  #login(): Login {
    return dbadminLogin(this.#settings);
  }

  /** Runs `work` on a connection as dbadmin, mapping errors and closing the connection. */
  async #with<T>(database: string, action: string, work: (sql: ConnectionSql) => Promise<T>): Promise<T> {
    const connection = connect(this.#pg, this.#login(), database);
    try {
      return await connection.guard(() => work(connection.sql));
    } catch (err) {
      throw mapPgError(err, action, this.#target);
    } finally {
      await connection.close();
    }
  }

  async #databaseExists(): Promise<boolean> {
    return this.#with(
      MAINTENANCE_DB,
      'look for the session database',
      async (sql) => (await sql`select 1 from pg_database where datname = ${this.#database}`).length > 0,
    );
  }

  async #sessionCount(): Promise<number> {
    return this.#with(this.#database, 'count sessions', async (sql) => {
      const [table] = await sql`select to_regclass('sessions') is not null as present`;
      if (!table?.present) return 0;
      const [row] = await sql`select count(*) as n from sessions`;
      return Number(row?.n ?? 0);
    });
  }

  /** Gives x2godbuser a fresh password and stores it for root, 0600. */
  async #resetAdminRole(sql: ConnectionSql): Promise<string> {
    const password = generatePassword();
    const file = join(passwordsDir(this.#settings.configDir), 'x2gopgadmin');
    mkdirSync(passwordsDir(this.#settings.configDir), { recursive: true, mode: 0o700 });
    writeSecret(file, password, 0, 0);
    const [role] = await sql`select 1 from pg_roles where rolname = ${ADMIN_ROLE}`;
    const verifier = quoteVerifier(scramVerifier(password));
    await sql.unsafe(`${role ? 'ALTER' : 'CREATE'} ROLE ${quoteIdent(ADMIN_ROLE)} LOGIN PASSWORD ${verifier}`);
    return `${ADMIN_ROLE}: ${role ? 'new password' : 'created'}, stored in ${file} (mode 600)`;
  }

  async createdb(options: { force: boolean }): Promise<AdminReport> {
    const lines: string[] = [];
    if (await this.#databaseExists()) {
      const held = await this.#sessionCount();
      if (held > 0 && !options.force) {
        throw new SessionDbError(
          'conflict',
          `database ${this.#database} at ${this.#target} holds ${held} session(s); --createdb would delete them. Use --updatedb to keep them, or --force to start empty`,
        );
      }
      await this.#with(MAINTENANCE_DB, 'drop the session database', (sql) =>
        sql.unsafe(`DROP DATABASE ${quoteIdent(this.#database)} WITH (FORCE)`),
      );
      lines.push(`dropped database ${this.#database}${held > 0 ? ` with ${held} session(s)` : ''}`);
    }
    await this.#with(MAINTENANCE_DB, 'create the session database', async (sql) => {
      lines.push(await this.#resetAdminRole(sql));
      await sql.unsafe(`CREATE DATABASE ${quoteIdent(this.#database)}`);
    });
    lines.push(`created database ${this.#database} at ${this.#target}`);
    const migrated = await this.#migrate();
    lines.push(...migrated.lines);
    if (migrated.failure) return { lines, failure: migrated.failure };
    return { lines: [...lines, await this.#ensureServiceRole(true)] };
  }

  /**
   * The resident service's role (see shared.ts): NOINHERIT, so its login alone may do nothing;
   * a member of x2godbuser and of every user's role, so that it can SET ROLE to the caller.
   * The role is cluster-wide and every server of a farm logs in with it, so only --createdb
   * (`fresh`) gives it a new password; --updatedb keeps the one that works on the other servers.
   */
  async #ensureServiceRole(fresh: boolean): Promise<string> {
    const file = serviceLoginFile(this.#settings.configDir);
    // The service's account reads it (root where there is none: a server without install).
    const owner = serviceAccount()?.uid ?? 0;
    const moved = adoptServiceLoginFile(this.#settings.configDir, owner);
    return this.#with(this.#database, `set up ${SERVICE_ROLE}`, async (sql) => {
      const [existing] = await sql`select 1 from pg_roles where rolname = ${SERVICE_ROLE}`;
      const id = quoteIdent(SERVICE_ROLE);
      let state = 'present, password file in place';
      if (!existing || fresh) {
        const password = generatePassword();
        writeSecret(file, password, owner, 0);
        const verifier = quoteVerifier(scramVerifier(password));
        await sql.unsafe(`${existing ? 'ALTER' : 'CREATE'} ROLE ${id} LOGIN NOINHERIT PASSWORD ${verifier}`);
        state = `${existing ? 'new password' : 'created'}, password in ${file} (mode 600)`;
      } else {
        const stored = storedPassword(file, owner);
        if (stored === undefined || !(await this.#canLogIn({ user: SERVICE_ROLE, password: stored }))) {
          state = `present, but ${file} ${stored === undefined ? 'is missing' : 'does not log in'}: copy it from the server where x2godbadmin --createdb ran (owner ${SERVICE_USER}, mode 600)`;
        }
      }
      await sql.unsafe(`ALTER ROLE ${id} NOINHERIT`);
      const users = (await sql`select rolname from pg_roles where starts_with(rolname, ${USER_ROLE_PREFIX})`).map((r) => String(r.rolname));
      for (const role of [ADMIN_ROLE, ...users]) await sql.unsafe(`GRANT ${quoteIdent(role)} TO ${id}`);
      await sql.unsafe(`GRANT CONNECT ON DATABASE ${quoteIdent(this.#database)} TO ${id}`);
      return `${SERVICE_ROLE}: ${moved}${state}; member of ${ADMIN_ROLE} and ${users.length} user role(s)`;
    });
  }

  /** The migrations' report; a failed one ends it, with what was applied before it. */
  async #migrate(): Promise<AdminReport> {
    return this.#with(this.#database, 'update the schema', async (sql) => {
      const run = await migrate(sql);
      const lines = describeMigrations(run.results);
      const failed = failedMigration(run);
      if (failed) return { lines, failure: mapPgError(run.error, `apply ${migrationLabel(failed)}`, this.#target) };
      return { lines: [...lines, `${this.#database}: schema version ${await schemaVersion(sql)}`] };
    });
  }

  async updatedb(options: { noPerlNodes?: boolean } = {}): Promise<AdminReport> {
    // As the reference: updating a database that is not there creates it.
    if (!(await this.#databaseExists())) return this.createdb({ force: false });
    const migrated = await this.#migrate();
    if (migrated.failure) return migrated;
    const lines = migrated.lines;
    lines.push(...(await this.#with(this.#database, 'apply the scope', (sql) => this.#applyScope(sql, options.noPerlNodes ?? false))));
    lines.push(await this.#ensureServiceRole(false));
    // The reference wrote root's password file world-readable.
    const file = join(passwordsDir(this.#settings.configDir), 'x2gopgadmin');
    const st = statSync(file, { throwIfNoEntry: false });
    if (st && (st.mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      lines.push(`${file}: was readable by others, now mode 600`);
    }
    return { lines };
  }

  /**
   * Display numbers and ports unique across the farm (the reference's constraints) or per
   * server, as `scope=` in the configuration says. The reference takes a display number to name
   * one session in the whole farm (its getdisplays and getports read every server's), so the
   * switch waits for the administrator's word that no server runs it any more.
   */
  async #applyScope(sql: ConnectionSql, noPerlNodes: boolean): Promise<string[]> {
    const want = this.#pg.scope;
    const [row] = await sql`select exists (select 1 from pg_constraint where conname = 'sessions_server_display_key') as per_server`;
    const have = row?.per_server ? 'per-server' : 'farm';
    const meaning = (s: string) => `display numbers and ports unique ${s === 'farm' ? 'across the farm' : 'per server'}`;
    if (have === want) return [`scope: ${have} (${meaning(have)})`];
    if (want === 'per-server' && !noPerlNodes) {
      throw new SessionDbError(
        'conflict',
        `${this.#settings.sqlFile} asks for scope=per-server, the database is farm-wide; once no server runs the reference's Perl code (x2go-sessiondb status on each), run x2godbadmin --updatedb --no-perl-nodes`,
      );
    }
    await sql.begin(async (tx) => {
      if (want === 'per-server') {
        await tx.unsafe(
          'ALTER TABLE sessions DROP CONSTRAINT sessions_display_key, ADD CONSTRAINT sessions_server_display_key UNIQUE (server, display)',
        );
        await tx.unsafe(
          'ALTER TABLE used_ports DROP CONSTRAINT used_ports_pkey, ADD CONSTRAINT used_ports_pkey PRIMARY KEY (server, port)',
        );
        return;
      }
      const [clash] = await tx`select display from sessions group by display having count(*) > 1 limit 1`;
      const [portClash] = await tx`select port from used_ports group by port having count(*) > 1 limit 1`;
      if (clash || portClash) {
        throw new SessionDbError(
          'conflict',
          `cannot return to scope=farm: ${clash ? `display ${String(clash.display)}` : `port ${String(portClash?.port)}`} is in use on several servers`,
        );
      }
      await tx.unsafe(
        'ALTER TABLE sessions DROP CONSTRAINT sessions_server_display_key, ADD CONSTRAINT sessions_display_key UNIQUE (display)',
      );
      await tx.unsafe('ALTER TABLE used_ports DROP CONSTRAINT used_ports_pkey, ADD CONSTRAINT used_ports_pkey PRIMARY KEY (port)');
    });
    return [`scope: ${have} -> ${want} (${meaning(want)})`];
  }

  async listusers(): Promise<AdminReport> {
    const roles = await this.#with(MAINTENANCE_DB, 'list users', async (sql) =>
      (await sql`select rolname from pg_roles where starts_with(rolname, ${USER_ROLE_PREFIX}) order by rolname`).map((r) =>
        String(r.rolname),
      ),
    );
    // The reference's format, column for column.
    return {
      lines: [
        `${'UNIX user'.padEnd(20)} DB user`,
        '---------------------------------------',
        ...roles.map((role) => `${role.slice(USER_ROLE_PREFIX.length).padEnd(20)} ${role}`),
      ],
    };
  }

  #account(name: string): Account {
    const account = lookupUser(name);
    if (!account) throw invalid(`Cannot find user (${name})`);
    if (account.uid === 0) throw invalid('The super-user "root" is not allowed to use X2Go');
    return account;
  }

  /** Whether a role can log in with a password: the only proof that a stored password still works. */
  async #canLogIn(login: Login): Promise<boolean> {
    const connection = connect(this.#pg, login);
    try {
      await connection.guard(() => connection.sql`select 1`);
      return true;
    } catch {
      return false;
    } finally {
      await connection.close();
    }
  }

  /**
   * A SQLite database (or any backend's dump) moved in: the schema brought up to date (the
   * database created if missing), a role for every user a session names (as --adduser), then
   * every row in one transaction, checked before it commits (import.ts). A database holding
   * sessions the dump does not have (other servers', or a reused database) is refused unless
   * `force`: the copy then goes in beside them.
   */
  async importSessions(dump: SessionDump, options: { force: boolean }): Promise<AdminReport> {
    const others = (await this.#databaseExists())
      ? await this.#with(this.#database, 'count sessions', (sql) => otherSessions(sql, dump))
      : 0;
    if (others > 0 && !options.force) {
      throw new SessionDbError(
        'conflict',
        `database ${this.#database} at ${this.#target} holds ${others} session(s) that ${dump.source} does not have; add --force to copy beside them (nothing is deleted)`,
      );
    }
    const updated = await this.updatedb();
    if (updated.failure) return updated;
    const lines = [
      ...updated.lines,
      `from ${dump.source}: ${dump.sessions.length} session(s), ${dump.ports.length} port(s), ${dump.mounts.length} mount(s)`,
    ];
    for (const name of usersOf(dump)) {
      const account = lookupUser(name);
      lines.push(
        account && account.uid !== 0 ? await this.#addUser(account) : `${userRole(name)}: no UNIX user ${name}; rows copied, no role made`,
      );
    }
    const copied = await this.#with(this.#database, `copy ${dump.source} into ${this.#database}`, (sql) =>
      sql.begin((tx) => importDump(tx, dump, this.#database)),
    );
    return { lines: [...lines, ...copied] };
  }

  async adduser(name: string): Promise<AdminReport> {
    return { lines: [await this.#addUser(this.#account(name))] };
  }

  async #addUser(account: Account): Promise<string> {
    const role = userRole(account.name);
    const file = join(account.home, '.x2go', 'pgsqlpass');
    return this.#with(this.#database, `add ${role}`, async (sql) => {
      const [existing] = await sql`select 1 from pg_roles where rolname = ${role}`;
      const stored = existing === undefined ? undefined : asUser(account, () => storedPassword(file, account.uid));
      if (stored !== undefined && (await this.#canLogIn({ user: role, password: stored }))) {
        await sql.unsafe(`GRANT ${quoteIdent(USERS_GROUP_ROLE)} TO ${quoteIdent(role)}`);
        await this.#grantToService(sql, role);
        return `${role}: already present, password file in place`;
      }
      const password = generatePassword();
      // The file first, under a temporary name: if the role change fails, the old file stands.
      const pending = asUser(account, () => writeUserSecret(account, password));
      try {
        await sql.begin(async (tx) => {
          const verb = existing ? 'ALTER' : 'CREATE';
          await tx.unsafe(`${verb} ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteVerifier(scramVerifier(password))}`);
          await tx.unsafe(`GRANT ${quoteIdent(USERS_GROUP_ROLE)} TO ${quoteIdent(role)}`);
          await this.#grantToService(tx, role);
        });
      } catch (err) {
        asUser(account, () => rmSync(pending, { force: true }));
        throw err;
      }
      asUser(account, () => renameSync(pending, file));
      return `${role}: ${existing ? 'new password' : 'created'}, password in ${file}`;
    });
  }

  /** Lets the resident service act as `role` (SET ROLE); dropping the role ends it. */
  async #grantToService(sql: Sql, role: string): Promise<void> {
    const [service] = await sql`select 1 from pg_roles where rolname = ${SERVICE_ROLE}`;
    if (service) await sql.unsafe(`GRANT ${quoteIdent(role)} TO ${quoteIdent(SERVICE_ROLE)}`);
  }

  async rmuser(name: string): Promise<AdminReport> {
    return { lines: [await this.#removeUser(name)] };
  }

  async #removeUser(name: string): Promise<string> {
    const role = userRole(name);
    const account = lookupUser(name);
    const line = await this.#with(this.#database, `remove ${role}`, async (sql) => {
      const [existing] = await sql`select 1 from pg_roles where rolname = ${role}`;
      if (!existing) return `${role}: not present`;
      const id = quoteIdent(role);
      await sql.begin(async (tx) => {
        await tx.unsafe(`REVOKE ALL ON sessions, used_ports, mounts, sessions_view, servers_view, ports_view, mounts_view FROM ${id}`);
        await tx.unsafe(`REVOKE ${quoteIdent(USERS_GROUP_ROLE)} FROM ${id}`);
        await tx.unsafe(`DROP OWNED BY ${id}`);
      });
      try {
        await sql.unsafe(`DROP ROLE ${id}`);
        return `${role}: removed`;
      } catch (err) {
        // The role still holds privileges in another database of the cluster.
        if (sqlStateOf(err) === SQLSTATE.dependentObjectsStillExist)
          return `${role}: removed from ${this.#database}; role kept (used in other databases)`;
        throw err;
      }
    });
    if (account && account.uid !== 0) {
      asUser(account, () => {
        for (const file of ['pgsqlpass', 'sqlpass']) rmSync(join(account.home, '.x2go', file), { force: true });
      });
    }
    return line;
  }

  #members(group: string): Account[] {
    const gid = lookupGroupId(group);
    if (gid === undefined) throw invalid(`Cannot find group (${group})`);
    return groupMembers(group, gid);
  }

  async addgroup(group: string): Promise<AdminReport> {
    const lines: string[] = [];
    for (const account of this.#members(group)) {
      lines.push(account.uid === 0 ? 'root: skipped, the super-user is not allowed to use X2Go' : await this.#addUser(account));
    }
    return { lines: lines.length ? lines : [`group ${group} has no members`] };
  }

  async rmgroup(group: string): Promise<AdminReport> {
    const lines: string[] = [];
    for (const account of this.#members(group)) {
      if (account.uid !== 0) lines.push(await this.#removeUser(account.name));
    }
    return { lines: lines.length ? lines : [`group ${group} has no members`] };
  }
}

/**
 * The service's password file where the service can read it: moved from passwords/ (where it
 * was root's, before the service left root) and given to the service's account. Returns what
 * was done, for the report.
 */
function adoptServiceLoginFile(configDir: string, owner: number): string {
  const file = serviceLoginFile(configDir);
  const legacy = legacyServiceLoginFile(configDir);
  let done = '';
  if (statSync(legacy, { throwIfNoEntry: false })?.isFile() && !statSync(file, { throwIfNoEntry: false })) {
    renameSync(legacy, file);
    done = `moved ${legacy} to ${file}, `;
  }
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st?.isFile() && (st.uid !== owner || (st.mode & 0o077) !== 0)) {
    chownSync(file, owner, 0);
    chmodSync(file, 0o600);
    done += `${file} now ${SERVICE_USER}'s (mode 600), `;
  }
  return done;
}

function storedPassword(file: string, uid: number): string | undefined {
  try {
    return readPasswordFile(file, uid, '');
  } catch {
    return undefined;
  }
}

/** Writes a secret readable by its owner only, without ever being readable by others. */
function writeSecret(file: string, secret: string, uid: number, gid: number): void {
  const pending = `${file}.new`;
  rmSync(pending, { force: true });
  writeFileSync(pending, secret, { mode: 0o600, flag: 'wx' });
  chownSync(pending, uid, gid);
  renameSync(pending, file);
}

/** Run as the user: ~/.x2go (0700) and a pending password file (0600). Returns its path. */
function writeUserSecret(account: Account, password: string): string {
  const dir = join(account.home, '.x2go');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const pending = join(dir, `pgsqlpass.new`);
  rmSync(pending, { force: true });
  writeFileSync(pending, password, { mode: 0o600, flag: 'wx' });
  return pending;
}
