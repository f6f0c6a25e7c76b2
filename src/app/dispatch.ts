// Command dispatch as a plain function from (caller, argv) to (stdout, stderr, exit code):
// no process.exit, no globals, nothing read from the environment here. The process entry points
// (main.ts) and, later, a resident service call it; both decide who the caller is and which
// configuration directory may be used before they get here.

import { hostname } from 'node:os';
import { loadBackend } from '../backends/backend.js';
import { loadSettings, type Settings } from '../config/config.js';
import { invalid } from '../model/errors.js';
import { SessionDb } from '../model/session-db.js';
import type { LegacyTraits, StoreAccess } from '../model/backend.js';
import type { SessionStore } from '../model/store.js';
import type { Caller } from '../model/types.js';
import { shown } from '../model/validate.js';
import { groupsOfUser, userExists } from '../system/accounts.js';
import { arity, COMMANDS, type CommandSpec } from './commands.js';
import { failure } from './failure.js';
import { jsonText, legacyLines, legacyText, notesOf, type Output } from './format.js';
import { HELPERS, type HelperPrint } from './helpers.js';
import { encodeActions, reportSource } from './agent-report.js';
import { isListingProgram, type ListingProgram, OUR_HELPERS } from './helper-names.js';
import { runListing, type WithDb } from './listing-programs.js';

export const MULTICALL = 'x2godb';

export interface Request {
  caller: Caller;
  /** The name of a reference helper, or anything else (x2godb) for the wrapper-compatible CLI. */
  program: string;
  args: readonly string[];
  /** The configuration directory chosen by the process entry point. */
  configDir: string;
  /** False through the setgid launcher: then --config is refused. */
  mayChooseConfig: boolean;
  /**
   * What the caller sends after its request (the service's X2DB3): a listing's agent state report,
   * which its first argument announces. Only the listings take one (takesTrailer).
   */
  trailer?: Promise<string>;
}

export interface Response {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Where settings and stores come from; the resident service passes its own (shared ones). */
export interface Environment {
  settings(configDir: string): Settings;
  /** Runs `work` on a store as `caller` sees it; what it changes is committed when it returns. */
  withStore<T>(settings: Settings, caller: Caller, work: (store: SessionStore) => Promise<T>, access?: StoreAccess): Promise<T>;
  /** The node every event of a call names (x2gosessiond --hostname); this host's name when absent. */
  node?: string;
}

/** A process of its own: one store, opened for this call and closed after it. */
export const processEnvironment: Environment = {
  settings: loadSettings,
  withStore: async (settings, caller, work) => {
    const store = await (await loadBackend(settings.backend.name)).openStore(settings, caller);
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  },
};

interface Plan {
  spec: CommandSpec;
  name: string;
  args: readonly string[];
  configDir: string;
  print: HelperPrint | 'json';
}

function usageText(): string {
  const lines = Object.entries(COMMANDS).map(
    ([name, spec]) => `  ${name}${spec.usage ? ` ${spec.usage}` : ''}${spec.rootOnly ? '   (root only)' : ''}`,
  );
  return [
    `usage: ${MULTICALL} [--config DIR] [--json] <command> [arguments...]`,
    '',
    'The session database commands of X2Go (those of libx2go-server-db-sqlite3-wrapper):',
    ...lines,
    '',
    '--config DIR   read DIR/x2gosql/sql and DIR/x2goserver.conf instead of /etc/x2go (also X2GO_CONFIG_DIR)',
    "--json         print JSON instead of the reference's pipe-separated lines",
    '--help         this text',
    '',
  ].join('\n');
}

/** Reads x2godb's own options, which come before the command. */
function planMulticall(req: Request): Plan | Response {
  const args = [...req.args];
  let configDir = req.configDir;
  let json = false;
  while (args[0]?.startsWith('--')) {
    const option = args.shift();
    if (option === '--help') return { stdout: usageText(), stderr: '', exitCode: 0 };
    if (option === '--json') json = true;
    else if (option === '--config') {
      if (!req.mayChooseConfig) throw invalid('--config is not accepted through the setgid launcher');
      const dir = args.shift();
      if (!dir) throw invalid('--config needs a directory');
      configDir = dir;
    } else throw invalid(`unknown option ${shown(option ?? '')}; see ${MULTICALL} --help`);
  }
  const name = args.shift();
  if (name === undefined) throw invalid(`no command given; see ${MULTICALL} --help`);
  const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!spec) throw invalid(`unknown command '${shown(name)}'; see ${MULTICALL} --help`);
  return { spec, name, args, configDir, print: json ? 'json' : 'output' };
}

/** Our own helpers' usage (their man pages say the same; test/man-pages.test.ts compares). */
function helperUsage(name: string, spec: CommandSpec): string {
  return [
    `usage: ${name} ${spec.usage}`,
    `       ${name} --help`,
    '',
    'Reserves the lowest free display at or above display_start and port_count free ports at or',
    "above port_start, with the caller's session row, in one transaction, and prints",
    '"<session_id> <display> <port>..." on one line. busy_displays and busy_ports: comma-separated',
    'numbers the host uses itself, skipped.',
    '',
    "Exit codes: 0 reserved; 1 no free display or port left, or the caller's [quota] is full;",
    '2 bad input (nothing written); 4 configuration or database unavailable.',
    '',
  ].join('\n');
}

/** A reference helper's name runs that helper; any other name (x2godb, the wrapper's) is the multi-call CLI. */
function plan(req: Request): Plan | Response {
  const helper = Object.hasOwn(HELPERS, req.program) ? HELPERS[req.program] : undefined;
  if (!helper) return planMulticall(req);
  // Only ours answers --help: the reference's helpers take every argument as data, as there.
  if ((OUR_HELPERS as readonly string[]).includes(req.program) && req.args.length === 1 && req.args[0] === '--help') {
    return { stdout: helperUsage(req.program, helper), stderr: '', exitCode: 0 };
  }
  return { spec: helper, name: req.program, args: req.args, configDir: req.configDir, print: helper.print };
}

function render(output: Output, print: Plan['print'], traits: LegacyTraits): string {
  switch (print) {
    case 'json':
      return jsonText(output);
    case 'inserted':
      return 'inserted';
    case 'nothing':
      return '';
    case 'output':
      return legacyText(output, traits);
    case 'lines':
      return legacyLines(output, traits)
        .map((line) => `${line}\n`)
        .join('');
  }
}

async function execute(req: Request, p: Plan, env: Environment): Promise<Response> {
  const { min, max } = p.spec.arity ?? arity(p.spec.usage);
  if (p.args.length < min || p.args.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    throw invalid(`${p.name} takes ${expected} argument(s): ${p.name} ${p.spec.usage}`.trimEnd());
  }
  // Every argument is validated here, before the database is opened.
  const work = p.spec.prepare(p.args);
  const settings = env.settings(p.configDir);
  // How the reference printed rows is the backend's, not the store's.
  const traits = (await loadBackend(settings.backend.name)).legacyTraits(settings);
  const access: StoreAccess = p.spec.readOnly ? 'read' : p.spec.oneStoreCall ? 'single-write' : 'write';
  return env.withStore(
    settings,
    req.caller,
    async (store) => {
      const db = new SessionDb(store, req.caller, userExists, {
        quota: { limits: settings.quota, file: settings.sqlFile },
        // The node every event of this call names: the service's, or this host's as `hostname` prints it.
        node: env.node ?? hostname(),
        sessionLimits: settings.sessionLimits,
        groupsOf: groupsOfUser,
      });
      const output = await work(db);
      const stderr = notesOf(output)
        .map((note) => `${p.name}: ${note}\n`)
        .join('');
      return { stdout: render(output, p.print, traits), stderr, exitCode: 0 };
    },
    access,
  );
}

/**
 * Whether a request only reads (see CommandSpec.readOnly), decided by the same plan() that runs
 * it, so the two cannot drift: the resident service tells its launcher so, and the launcher runs a
 * read again itself after a broken connection but never a write. What cannot be planned (bad
 * options, unknown commands, --help) is refused or answered before a store is opened: it reads nothing.
 */
export function readsOnly(req: Pick<Request, 'program' | 'args' | 'mayChooseConfig'>): boolean {
  // It may change a status: never run twice.
  if (isListingProgram(req.program)) return false;
  let p: Plan | Response;
  try {
    p = plan({ ...req, caller: { uid: -1, name: '' }, configDir: '' });
  } catch {
    return true;
  }
  return 'spec' in p ? (p.spec.readOnly ?? false) : true;
}

/** Whether a program takes what its caller sends after the request (Request.trailer). */
export function takesTrailer(program: string): boolean {
  return isListingProgram(program);
}

/**
 * x2golistsessions, x2golistshadowsessions: the first argument is the caller's side's report of the
 * agent state files, or announces it as the trailer; stdout starts with the actions for the
 * caller's side (agent-report.ts).
 */
async function executeListing(req: Request, program: ListingProgram, env: Environment): Promise<Response> {
  const source = reportSource(req.args[0], req.trailer);
  const settings = env.settings(req.configDir);
  const traits = (await loadBackend(settings.backend.name)).legacyTraits(settings);
  const withDb: WithDb = (work, access) =>
    env.withStore(
      settings,
      req.caller,
      (store) => work(new SessionDb(store, req.caller, userExists, { quota: { limits: settings.quota, file: settings.sqlFile } })),
      access,
    );
  const r = await runListing(program, req.args.slice(1), source, withDb, req.caller.name, traits, settings.logLevel);
  return { stdout: encodeActions(r.actions, r.stdout), stderr: r.stderr, exitCode: r.exitCode };
}

export async function dispatch(req: Request, env: Environment = processEnvironment): Promise<Response> {
  if (isListingProgram(req.program)) {
    try {
      return await executeListing(req, req.program, env);
    } catch (err) {
      return { stdout: '', ...failure(req.program, err) };
    }
  }
  try {
    const p = plan(req);
    return 'spec' in p ? await execute(req, p, env) : p;
  } catch (err) {
    // The program name can come from argv[0]; only known names are echoed.
    const name = Object.hasOwn(HELPERS, req.program) ? req.program : MULTICALL;
    return { stdout: '', ...failure(name, err) };
  }
}
