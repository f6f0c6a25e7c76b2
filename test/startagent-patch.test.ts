// contrib/x2gostartagent-reserve.patch: it applies to Debian's x2gostartagent, and the shell
// code it adds, run with the variables x2gostartagent has at that point, reserves a session
// through our x2goreservesession and fills in what the rest of the script uses. `install`
// applies it in memory (src/install/apply-patch.ts): the same result as patch(1), at an offset
// too, and nothing at all when the script differs where the patch goes.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { applyPatch } from '../src/install/apply-patch.js';
import { patchedStartagent } from '../src/install/startagent.js';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hasReference, requires } from './support/requirements.js';
import { createSandbox, DIST, ROOT, type Sandbox } from './support/sandbox.js';
import { run } from './support/system.js';

const PATCH = join(ROOT, 'contrib', 'x2gostartagent-reserve.patch');

/** The lines the patch adds, as a shell fragment. */
function addedLines(): string {
  return readFileSync(PATCH, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('+') && !l.startsWith('+++'))
    .map((l) => l.slice(1))
    .join('\n');
}

/**
 * The displays the host itself holds (X sockets and lock files), which the patched script skips:
 * on a live X2Go server the first free display is not 50. Read as the patch reads them.
 */
function hostDisplays(): Set<number> {
  const list = (dir: string) => readdirSync(dir, { withFileTypes: false }).map(String);
  const found = [
    ...(existsSync('/tmp/.X11-unix') ? list('/tmp/.X11-unix') : []).map((n) => /^X(\d+)$/.exec(n)?.[1]),
    ...list('/tmp').map((n) => /^\.X(\d+)-lock$/.exec(n)?.[1]),
  ];
  return new Set(found.filter((d) => d !== undefined).map(Number));
}

/** The lowest display at or above 50 that neither the host nor `taken` holds. */
function firstFree(taken: number[] = []): number {
  const busy = hostDisplays();
  let d = 50;
  while (busy.has(d) || taken.includes(d)) d++;
  return d;
}

describe('the x2gostartagent patch', () => {
  let box: Sandbox;
  let lib: string;
  before(() => {
    box = createSandbox();
    assert.equal(box.admin(['--createdb']).code, 0);
    // x2gostartagent's X2GO_LIB_PATH: here only x2gosyslog is called, and only its absence would fail.
    lib = mkdtempSync(join(tmpdir(), 'x2godb-lib-'));
    writeFileSync(join(lib, 'x2gosyslog'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  });
  after(() => {
    box?.remove();
    rmSync(lib, { recursive: true, force: true });
  });

  function startagent(extra: Record<string, string>, shadreqUser = ''): { out: string[]; code: number; stderr: string } {
    const script = [
      'set -u',
      `X2GO_LIB_PATH='${lib}'`,
      `SHADREQ_USER='${shadreqUser}'`,
      "SESSION_TYPE='D'",
      "X2GO_CMD='xfce4-session'",
      "COLORDEPTH='24'",
      "X2GOXDMCP=''",
      "X2GO_PORT='50'",
      "SSH_PORT='30000'",
      "X2GO_TELEKINESIS_ENABLED='0'",
      "X2GO_STYPE='D'",
      "current_host_name='x2go-test'",
      'ss="$(PATH="${PATH}:/usr/sbin:/sbin" type -P ss || echo /bin/true)"',
      "TEKICTRL_PORT=''",
      "TEKIDATA_PORT=''",
      "typeset -i retry='0'",
      "typeset -i max_retry='10'",
      "typeset output=''",
      addedLines(),
      'echo "${SESSION_NAME:--} ${X2GO_PORT} ${GR_PORT:--} ${SOUND_PORT:--} ${FS_PORT:--} ${output:--} ${max_retry}"',
    ].join('\n');
    const r = run('/bin/bash', ['-c', script], {
      env: { X2GO_CONFIG_DIR: box.configDir, X2GO_SESSIONDB_RESERVE: join(DIST, 'helpers', 'x2goreservesession'), ...extra },
    });
    return { out: r.stdout.trim().split(' '), code: r.code, stderr: r.stderr };
  }

  test('reserves the display, three ports and the session, and makes the old loops a no-op', () => {
    const expected = firstFree();
    const first = startagent({});
    assert.equal(first.code, 0, first.stderr);
    const [sid, display, gr, snd, fs, output, maxRetry] = first.out;
    assert.match(sid ?? '', new RegExp(`^${userInfo().username}-${expected}-\\d{10}_stDxfce4-session_dp24$`));
    assert.deepEqual([display, output, maxRetry], [String(expected), 'inserted', '0']);
    assert.equal(new Set([gr, snd, fs]).size, 3);
    const second = startagent({});
    assert.equal(second.out[1], String(firstFree([expected])));
    assert.match(box.x2godb(['listsessions', 'x2go-test']).stdout, new RegExp(`\\|${sid}\\|${expected}\\|x2go-test\\|R\\|`));
  });

  test("desktop sharing keeps the reference's loops: no reservation", () => {
    const shared = startagent({}, 'bob');
    assert.equal(shared.code, 0, shared.stderr);
    assert.deepEqual(shared.out, ['-', '50', '-', '-', '-', '-', '10']);
  });

  test('a failed reservation stops the start with exit 10, as the loops did', () => {
    const failed = startagent({ X2GO_CONFIG_DIR: '/nonexistent' });
    assert.equal(failed.code, 10);
    assert.match(failed.stderr, /Unable to reserve a display and ports/);
  });

  const needs = requires([hasReference, 'the reference (apt-get install x2goserver)']);
  test('applies to the installed x2gostartagent', needs.options, () => {
    needs.check();
    const dry = run('/usr/bin/patch', ['--dry-run', '-p1', '-d', '/', '-i', PATCH]);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  });

  /** What patch(1) makes of `text`. */
  function gnuPatch(text: string): string {
    const file = join(lib, 'x2gostartagent');
    writeFileSync(file, text);
    const r = run('/usr/bin/patch', ['-s', '-F0', file, PATCH]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return readFileSync(file, 'utf8');
  }

  test("install's in-memory patch makes what patch(1) makes, at the patch's line and at an offset", needs.options, () => {
    needs.check();
    const debian = readFileSync('/usr/bin/x2gostartagent', 'utf8');
    for (const text of [debian, debian.replace('\n', '\n# one\n# two\n# three\n')]) {
      const made = applyPatch(text, readFileSync(PATCH, 'utf8'));
      assert.ok(made.ok);
      assert.equal(made.text, gnuPatch(text));
    }
  });

  test('a script that differs where the patch goes is not patched at all', needs.options, () => {
    needs.check();
    const changed = readFileSync('/usr/bin/x2gostartagent', 'utf8').replace("typeset -i max_retry='10'", "typeset -i max_retry='12'");
    assert.deepEqual(applyPatch(changed, readFileSync(PATCH, 'utf8')), { ok: false, why: 'hunk 1 of 1 (at line 230) does not match' });
  });

  test("the installed copy reserves through the prefix's helper", needs.options, () => {
    needs.check();
    const made = patchedStartagent(readFileSync('/usr/bin/x2gostartagent', 'utf8'), '/opt/x2go-sessiondb');
    assert.ok(made.ok);
    assert.match(made.text, /X2GO_SESSIONDB_RESERVE:-\/opt\/x2go-sessiondb\/helpers\/x2goreservesession\}/);
    assert.doesNotMatch(made.text, /\/usr\/lib\/x2go-sessiondb/);
  });
});
