// Issue 16: the resident service with the least privilege it needs. systemd rates the unit we
// ship (`systemd-analyze security --offline=true`, the exposure CI checks): at most 4.0, where
// the unit that ran the service as root was rated 8.1. And the service runs as its own account
// with group x2gouser only, no capabilities, as the tests' services do (support/service.ts).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runasUnitText, unitText } from '../src/install/service-unit.js';
import { lookupGroupId } from '../src/system/accounts.js';
import { SERVICE_USER } from '../src/system/service-account.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { hasCompiler, isRoot, requires } from './support/requirements.js';
import { createSandbox, ROOT, type Sandbox } from './support/sandbox.js';
import { serviceUser, type RunningService } from './support/service.js';
import { ensureUser } from './support/system.js';

const ANALYZE = '/usr/bin/systemd-analyze';
const DEFAULTS = {
  node: '/usr/bin/node',
  prefix: '/usr/lib/x2go-sessiondb',
  configDir: '/etc/x2go',
  socket: '/run/x2go-sessiondb/sessiond.sock',
};
const MAX_EXPOSURE = 4.0;

/** systemd's overall exposure for a unit file, 0.0 (best) to 10.0. */
function exposure(unitFile: string): number {
  const r = spawnSync(ANALYZE, ['security', '--offline=true', '--no-pager', unitFile], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
  if (!m) throw new Error(`systemd-analyze printed no exposure (exit ${r.status}): ${r.stderr}`);
  return Number(m[1]);
}

describe('the systemd unit of x2gosessiond', () => {
  const needs = requires([existsSync(ANALYZE), 'systemd-analyze (apt-get install systemd)']);

  test('the shipped unit is what the installer writes, and runs the service as its own account', () => {
    const text = unitText(DEFAULTS);
    assert.equal(readFileSync(join(ROOT, 'contrib', 'x2gosessiond.service'), 'utf8'), text);
    assert.equal(readFileSync(join(ROOT, 'contrib', 'x2gosessiond-runas.service'), 'utf8'), runasUnitText(DEFAULTS));
    assert.match(text, new RegExp(`^User=${SERVICE_USER}$`, 'm'));
    assert.match(text, /^Group=x2gouser$/m);
    assert.match(text, /^RuntimeDirectory=x2go-sessiondb$/m);
    assert.match(text, /^ReadWritePaths=-\/var\/lib\/x2go$/m);
  });

  test(`systemd-analyze security rates it at most ${MAX_EXPOSURE}`, needs.options, () => {
    needs.check();
    const value = exposure(join(ROOT, 'contrib', 'x2gosessiond.service'));
    assert.ok(value <= MAX_EXPOSURE, `exposure ${value}, more than ${MAX_EXPOSURE}`);
    // Also with other paths: the installer's unit for a prefix and configuration elsewhere.
    const dir = mkdtempSync(join(tmpdir(), 'x2godb-unit-'));
    try {
      const file = join(dir, 'x2gosessiond.service');
      writeFileSync(file, unitText({ ...DEFAULTS, prefix: '/opt/x2go-sessiondb', configDir: '/srv/x2go' }));
      assert.ok(exposure(file) <= MAX_EXPOSURE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const rootNeeds = requires(
  [isRoot, 'root'],
  [hasCompiler, '/usr/bin/cc'],
  [lookupGroupId('x2gouser') !== undefined, 'group x2gouser (x2goserver)'],
);

describe('x2gosessiond runs as its own account, not root', rootNeeds.options, () => {
  let box: Sandbox;
  let inst: Installed;
  let service: RunningService;
  before(() => {
    rootNeeds.check();
    box = createSandbox();
    assert.equal(box.admin(['--createdb']).code, 0);
    inst = installLauncher(box, { service: true });
    service = inst.service as RunningService;
  });
  after(async () => {
    await service?.stop();
    box?.remove();
  });

  test('uid _x2gosessiond, gid x2gouser, no other group, no capabilities; it answers a user', () => {
    const status = readFileSync(`/proc/${service.child.pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim().split(/\s+/).filter(Boolean);
    const account = serviceUser();
    assert.deepEqual(field('Uid'), Array(4).fill(String(account.uid)));
    assert.deepEqual(field('Gid'), Array(4).fill(String(lookupGroupId('x2gouser'))));
    assert.deepEqual(field('Groups') ?? [], []);
    assert.deepEqual(field('CapEff'), ['0000000000000000']);
    const alice = ensureUser('alice');
    const r = inst.helper('x2goinsertsession', ['51', 'x2go-test', 'alice-51-1700000051_stDxfce_dp24'], alice);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'inserted', '']);
    // The socket and its directory are the service account's, for the group only.
    const ls = execFileSync('/usr/bin/stat', ['-c', '%U:%G %a', inst.socket, join(inst.socket, '..')], { encoding: 'utf8' });
    assert.equal(ls, `${SERVICE_USER}:x2gouser 660\n${SERVICE_USER}:x2gouser 751\n`);
  });
});
