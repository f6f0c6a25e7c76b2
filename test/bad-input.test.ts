// Every command, every argument: malformed, out of range, injected, missing, extra. Each is
// refused with exit 2 and one line on stderr, and the database is byte for byte unchanged.
// The matrix runs through dispatch() in-process (the same function the programs run); a sample
// runs as real processes. NUL cannot be passed in argv at all; validate.test.ts covers it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../src/app/commands.js';
import { dispatch } from '../src/app/dispatch.js';
import { HELPERS } from '../src/app/helpers.js';
import { ARGUMENTS, argumentNames, INJECTIONS, LONG, me, server, SID, validArguments } from './support/arguments.js';
import { POSTGRES, SQLITE, type TestDatabase } from './support/backends.js';
import { pgDump } from './support/postgres.js';
import { ensureUser } from './support/system.js';

const pgNeeds = POSTGRES.needs();

interface Case {
  program: string;
  args: string[];
  why: string;
}

/**
 * Someone else's session id is refused to a user, but a root-only command is also let through
 * to the owner of a private database file (the sandbox's, when the suite runs as an ordinary
 * user), who acts as root there: for those the id is no bad input.
 */
const FOREIGN_ID = 'someoneelse-';

function cases(program: string, usage: string, rootOnly = false): Case[] {
  const names = argumentNames(usage);
  const valid = validArguments(program, usage);
  const out: Case[] = [];
  names.forEach((name, i) => {
    // A mount path may hold quotes, '$' or any letter (folder names); only '|' and control
    // characters break the line format, and those are in its invalid list.
    const injections = name === 'path' ? [] : INJECTIONS.map((x) => `${valid[i]}${x}`);
    for (const bad of [...(ARGUMENTS[name]?.invalid ?? []), ...injections]) {
      if (bad === '' && name === 'tekictrl_port' && program === 'x2goresume') continue;
      if (rootOnly && bad.startsWith(FOREIGN_ID)) continue;
      const args = [...valid];
      args[i] = bad;
      out.push({ program, args, why: `<${name}> = ${JSON.stringify(bad.slice(0, 40))}` });
    }
  });
  const required = (usage.match(/<[^>]+>/g) ?? []).length;
  if (required > 0) out.push({ program, args: valid.slice(0, required - 1), why: 'one argument missing' });
  out.push({ program, args: [...valid, 'extra'], why: 'one argument too many' });
  return out;
}

describe('bad input: exit 2, one line, nothing written', () => {
  let box: TestDatabase;
  let dump: string;
  before(async () => {
    box = await SQLITE.createDatabase({ database: 'x2go_badinput' });
    box.x2godb(['insertsession', '51', server, SID]);
    box.x2godb(['insertport', server, SID, '30001']);
    box.x2godb(['insertmount', SID, '/tmp/.x2go-u/media/disk/_home', '10.0.0.1']);
    dump = box.dump();
  });
  after(async () => box.drop());

  const all: Case[] = [
    ...Object.entries(COMMANDS).flatMap(([name, spec]) =>
      cases(name, spec.usage, spec.rootOnly).map((c) => ({ ...c, program: `x2godb ${c.program}` })),
    ),
    ...Object.entries(HELPERS).flatMap(([name, spec]) => cases(name, spec.usage, spec.rootOnly)),
  ];

  test(`${all.length} refused invocations of every command and helper`, async () => {
    const caller = { uid: process.getuid?.() ?? -1, name: me };
    for (const c of all) {
      const [program, command] = c.program.split(' ') as [string, string | undefined];
      const res = await dispatch({
        caller,
        program,
        args: command ? [command, ...c.args] : c.args,
        configDir: box.configDir,
        mayChooseConfig: true,
      });
      const what = `${c.program} with ${c.why}`;
      assert.equal(res.exitCode, 2, `${what}: exit ${res.exitCode}, ${res.stderr}${res.stdout}`);
      assert.equal(res.stdout, '', what);
      assert.match(res.stderr, /^[\w-]+: [^\n]+\n$/, what);
    }
    assert.equal(box.dump(), dump);
  });

  test('the same through the programs, for a sample: quotes, semicolons, shell syntax, long strings', () => {
    const samples: [string, string[]][] = [
      ['x2goinsertsession', ['51', server, "alice'); drop table sessions; --"]],
      ['x2goinsertport', [server, SID, '30001; delete from used_ports']],
      ['x2gochangestatus', ["R' where 1=1 --", SID]],
      ['x2gocreatesession', [SID, '$(id)', '1', '10.0.0.1', '1', '2', '3', '-1', '-1']],
      ['x2goresume', ["10.0.0.1'", SID, '1', '2', '3']],
      ['x2gogetdisplays', [LONG]],
    ];
    for (const [helper, args] of samples) {
      const r = box.helper(helper, args);
      assert.equal(r.code, 2, `${helper}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    }
    const r = box.x2godb(['insertmount', SID, "/tmp/x'; drop table mounts; --|", '10.0.0.1']);
    assert.equal(r.code, 2);
    assert.equal(box.dump(), dump);
  });

  test('what looks like SQL in a legitimate value is stored as it is, and read back as it is', () => {
    const path = "/tmp/.x2go-u/media/disk/_home_Bob's files; drop table mounts; -- $(id) ünïcödé";
    assert.equal(box.x2godb(['insertmount', SID, path, '10.0.0.9']).stdout, 'ok');
    assert.match(
      box.x2godb(['getmounts', SID]).stdout,
      new RegExp(`^10\\.0\\.0\\.9\\|${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );
    assert.equal(box.x2godb(['deletemount', SID, path]).stdout, 'ok');
    assert.equal(box.dump(), dump);
  });
});

describe('bad input on PostgreSQL: the same matrix, and tricky values stored as they are', pgNeeds.options, () => {
  let box: TestDatabase;
  before(async () => {
    pgNeeds.check();
    box = await POSTGRES.createDatabase({ database: 'x2go_badinput', users: ['alice'] });
  });
  after(async () => box?.drop());

  test('every refused invocation is refused before PostgreSQL sees it, with no SQL in the message', async () => {
    const before = await pgDump(box.database);
    const caller = { uid: 0, name: 'root' };
    const all: Case[] = [
      ...Object.entries(COMMANDS).flatMap(([name, spec]) => cases(name, spec.usage).map((c) => ({ ...c, program: `x2godb ${c.program}` }))),
      ...Object.entries(HELPERS).flatMap(([name, spec]) => cases(name, spec.usage)),
    ];
    for (const c of all) {
      const [program, command] = c.program.split(' ') as [string, string | undefined];
      const res = await dispatch({
        caller,
        program,
        args: command ? [command, ...c.args] : c.args,
        configDir: box.configDir,
        mayChooseConfig: true,
      });
      assert.equal(res.exitCode, 2, `${c.program} with ${c.why}: ${res.stderr}`);
      assert.doesNotMatch(res.stderr, /ERROR|syntax|relation|\bselect\b|\binsert\b/i);
    }
    assert.equal(await pgDump(box.database), before);
  });

  test("quotes, semicolons, backslashes, $$ and unicode in a mount path: alice's row, verbatim", async () => {
    const alice = { uid: ensureUser('alice').uid, name: 'alice' };
    const run = (args: string[]) => dispatch({ caller: alice, program: 'x2godb', args, configDir: box.configDir, mayChooseConfig: true });
    const sid = 'alice-51-1700000051_stDxfce_dp24';
    assert.equal((await run(['insertsession', '51', 'x2go-test', sid])).stdout, 'ok');
    const path = "/tmp/.x2go-alice/media/disk/_Bob's files'; drop table mounts; -- \\ $$ $1 ünïcödé";
    assert.equal((await run(['insertmount', sid, path, '10.0.0.9'])).stdout, 'ok');
    assert.equal((await run(['getmounts', sid])).stdout, `10.0.0.9|${path}`);
    assert.equal((await run(['deletemount', sid, path])).stdout, 'ok');
    assert.equal((await run(['getmounts', sid])).stdout, '');
  });
});
