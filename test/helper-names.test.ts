// The helper names are listed once (src/app/helper-names.ts); this checks that everything built
// or installed from them agrees: the helper table, the links the build puts in dist/helpers/,
// the reference files the drop-in takes over, and the functions of our X2Go::Server::DB
// (src/install/DB.pm), which must be the reference module's and run only wrapper commands we have.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../src/app/commands.js';
import { HELPER_NAMES, LISTING_PROGRAMS, PROGRAM_NAMES, REFERENCE_HELPERS } from '../src/app/helper-names.js';
import { HELPERS } from '../src/app/helpers.js';
import { REPLACEMENTS } from '../src/install/dropin.js';
import { WRAPPER_NAME } from '../src/install/install-launcher.js';
import { DIST, ROOT } from './support/sandbox.js';

const sorted = (names: Iterable<string>) => [...names].sort();

test('the helper table defines exactly the listed names', () => {
  assert.deepEqual(sorted(Object.keys(HELPERS)), sorted(HELPER_NAMES));
  assert.equal(new Set(HELPER_NAMES).size, HELPER_NAMES.length);
});

test('dist/helpers/ holds one link to the x2godb bundle per listed name, and nothing else', () => {
  const built = readdirSync(join(DIST, 'helpers'));
  // The helpers, and x2golistsessions and x2golistshadowsessions (issue 15).
  assert.deepEqual(sorted(built), sorted(PROGRAM_NAMES));
  for (const name of built) assert.equal(readlinkSync(join(DIST, 'helpers', name)), '../x2godb.cjs', name);
});

test("the drop-in takes over the reference's helpers, its wrapper, x2godbadmin, x2golistsessions, x2golistshadowsessions and DB.pm: nothing more", () => {
  const links = REPLACEMENTS.filter((r) => r.kind === 'link').map((r) => basename(r.path));
  assert.deepEqual(sorted(links), sorted([...REFERENCE_HELPERS, WRAPPER_NAME, 'x2godbadmin', ...LISTING_PROGRAMS]));
  assert.deepEqual(REPLACEMENTS.filter((r) => r.kind === 'perl-module').length, 1);
});

test("DB.pm: every exported function is defined, and the wrapper commands it runs are ours, all the reference's", () => {
  const perl = readFileSync(join(ROOT, 'src', 'install', 'DB.pm'), 'utf8');
  const exported =
    /our @EXPORT = \(([^)]*)\)/
      .exec(perl)?.[1]
      ?.match(/'(\w+)'/g)
      ?.map((q) => q.slice(1, -1)) ?? [];
  const defined = [...perl.matchAll(/^sub (db_\w+|dbsys_\w+)/gm)].map((m) => m[1] ?? '');
  assert.ok(exported.length > 20, 'no @EXPORT list found');
  assert.deepEqual(sorted(exported), sorted(defined));
  // Each function runs one wrapper command through output(), output_lines(), change() or change_or_die().
  const run = new Set([...perl.matchAll(/\b(?:output|output_lines|change|change_or_die)\('(\w+)'/g)].map((m) => m[1] ?? ''));
  for (const command of run) assert.ok(Object.hasOwn(COMMANDS, command), `DB.pm runs ${command}, which x2godb does not have`);
  // Every command but ours (the one step that x2goreservesession runs, and the history) is one of the reference module's.
  const ours = new Set(['reservesession', 'history', 'prunehistory']);
  assert.deepEqual(sorted(run), sorted(Object.keys(COMMANDS).filter((c) => !ours.has(c))));
});
