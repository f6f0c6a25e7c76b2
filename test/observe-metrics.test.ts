// The service's Prometheus metrics (issue 13), on both backends: the text passes promtool's
// check, and after a scripted scenario of helper calls through the launcher its figures are the
// database's (sessions by server and status, history events counted once) and the service's own
// (requests by command and exit code); no label carries a user name, session id or cookie; the
// farm's figures cost the database one query per 4 s however often they are scraped.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../src/system/accounts.js';
import { BACKENDS, NEEDS_ROOT, NEEDS_X2GOUSER, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { parseMetrics, sampleValue, startWatchedService, type WatchedService } from './support/observe.js';
import { SNAPSHOT_TTL_MS } from '../src/service/observe/metrics.js';
import { hasCompiler } from './support/requirements.js';
import { ROOT } from './support/sandbox.js';
import { ensureUser } from './support/system.js';

const PROMTOOL = '/usr/bin/promtool';
const SRV = 'x2go-metrics';
const OTHER = 'x2go-metrics-b';
const COOKIE = '0123456789abcdef0123456789abcdef';
const sid = (user: string, n: number) => `${user}-${60 + n}-${1700000100 + n}_stDxfce_dp24`;

for (const backend of BACKENDS) {
  const needs = backend.needs(
    NEEDS_ROOT,
    NEEDS_X2GOUSER,
    [hasCompiler, '/usr/bin/cc'],
    [existsSync(PROMTOOL), 'promtool (apt-get install prometheus)'],
  );
  describe(`metrics on ${backend.name}`, needs.options, () => {
    let box: TestDatabase;
    let inst: Installed;
    let watched: WatchedService;
    let alice: Account;
    let bob: Account;
    const scrape = async () => {
      const res = await fetch(`${watched.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return res.text();
    };

    before(async () => {
      needs.check();
      alice = ensureUser('alice');
      bob = ensureUser('bob');
      box = await backend.createDatabase({ database: 'x2go_test_metrics', users: ['alice', 'bob'], serviceLogin: true });
      inst = installLauncher(box, { service: false });
      watched = await startWatchedService(box.configDir, inst.socket);
    });
    after(async () => {
      await watched?.service.stop();
      await box?.drop();
    });

    test('a scripted scenario: the metrics are the database’s and the service’s figures, and pass promtool check metrics', async () => {
      const ok = (name: string, args: string[], user: Account) => {
        const r = inst.helper(name, args, user);
        assert.equal(r.code, 0, `${name} ${args.join(' ')}: ${r.stderr}`);
      };
      // alice: two sessions started, one suspended and resumed, one finished; bob: one on the other server, suspended.
      for (const [user, n, server] of [
        [alice, 0, SRV],
        [alice, 1, SRV],
        [bob, 2, OTHER],
      ] as const) {
        ok('x2goinsertsession', [String(60 + n), server, sid(user.name, n)], user);
        ok(
          'x2gocreatesession',
          [sid(user.name, n), COOKIE, '4242', '10.0.0.1', String(31000 + 3 * n), String(31001 + 3 * n), String(31002 + 3 * n), '-1', '-1'],
          user,
        );
      }
      ok('x2gochangestatus', ['S', sid('alice', 0)], alice);
      ok('x2goresume', ['10.0.0.2', sid('alice', 0), '31000', '31001', '31002'], alice);
      ok('x2gochangestatus', ['F', sid('alice', 1)], alice);
      ok('x2gochangestatus', ['S', sid('bob', 2)], bob);
      // Refused: bob on alice's session (exit 3 or 1), counted by its exit code.
      const refused = inst.helper('x2gochangestatus', ['F', sid('alice', 0)], bob);
      assert.notEqual(refused.code, 0);

      // The farm's figures are cached for SNAPSHOT_TTL_MS (the dashboard took one at start): wait it out.
      await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_TTL_MS + 200));
      const text = await scrape();
      const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
      const samples = parseMetrics(text);

      // Sessions by server and status, as the database holds them.
      const rows = await box.query<{ server: string; status: string; n: number | string }>(
        'SELECT server, status, count(*) AS n FROM sessions GROUP BY server, status',
      );
      assert.ok(rows.length >= 3);
      for (const r of rows)
        assert.equal(
          sampleValue(samples, 'x2go_sessions', { server: r.server, status: r.status.trim() }),
          Number(r.n),
          `${r.server} ${r.status}`,
        );
      assert.equal(sampleValue(samples, 'x2go_sessions', { server: SRV, status: 'R' }), 1);
      assert.equal(sampleValue(samples, 'x2go_sessions', { server: SRV, status: 'F' }), 1);
      assert.equal(sampleValue(samples, 'x2go_sessions', { server: OTHER, status: 'S' }), 1);

      // History events, each counted once: three starts, one resume, two suspends, one finish.
      const events = await box.query<{ event: string; n: number | string }>(
        'SELECT event, count(*) AS n FROM session_events GROUP BY event',
      );
      for (const e of events) assert.equal(sampleValue(samples, 'x2go_session_events_total', { event: e.event }), Number(e.n), e.event);
      assert.equal(sampleValue(samples, 'x2go_session_events_total', { event: 'started' }), 3);
      assert.equal(sampleValue(samples, 'x2go_session_events_total', { event: 'resumed' }), 1);
      assert.equal(sampleValue(samples, 'x2go_session_events_total', { event: 'suspended' }), 2);

      // The service's own counts: every call it answered, by command and exit code.
      const stats = await watched.service.stats();
      const requests = samples.filter((s) => s.name === 'x2go_sessiond_requests_total');
      assert.equal(
        requests.reduce((n, s) => n + s.value, 0),
        stats.requests,
      );
      assert.equal(sampleValue(samples, 'x2go_sessiond_requests_total', { command: 'x2gocreatesession', exit_code: '0' }), 3);
      assert.equal(
        sampleValue(samples, 'x2go_sessiond_requests_total', { command: 'x2gochangestatus', exit_code: String(refused.code) }),
        1,
      );
      assert.equal(sampleValue(samples, 'x2go_sessiond_request_duration_seconds_count', { command: 'x2goinsertsession' }), 3);
      assert.equal(sampleValue(samples, 'x2go_sessiond_session_operations_total', { operation: 'start' }), 3);
      assert.equal(sampleValue(samples, 'x2go_sessiond_session_operations_total', { operation: 'resume' }), 1);
      assert.equal(sampleValue(samples, 'x2go_sessiond_session_operations_total', { operation: 'suspend' }), 2);
      assert.equal(sampleValue(samples, 'x2go_sessiond_session_operations_total', { operation: 'terminate' }), 1);
      assert.equal(sampleValue(samples, 'x2go_database_up'), 1);
      assert.ok(sampleValue(samples, 'process_resident_memory_bytes') > 10e6);
      assert.ok(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));

      // No identities in labels.
      for (const s of samples) {
        for (const value of Object.values(s.labels)) {
          assert.doesNotMatch(value, /alice|bob|_stDxfce|0123456789abcdef/, `${s.name} carries ${value}`);
        }
      }
    });

    test('contrib/: every Grafana query parses (promtool check rules) and names metrics the service exports; the scrape snippet is a valid config', async () => {
      await new Promise((r) => setTimeout(r, SNAPSHOT_TTL_MS + 100));
      const names = new Set(parseMetrics(await scrape()).map((s) => s.name));
      const dashboard = JSON.parse(readFileSync(join(ROOT, 'contrib', 'grafana-x2go-farm.json'), 'utf8')) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
      assert.ok(exprs.length >= 10);
      const dir = mkdtempSync(join(tmpdir(), 'x2godb-promtool-'));
      const rules = exprs.map((expr, i) => `      - record: x2go:panel_${i}\n        expr: ${JSON.stringify(expr)}`).join('\n');
      writeFileSync(join(dir, 'rules.yml'), `groups:\n  - name: grafana\n    rules:\n${rules}\n`);
      const checked = spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      assert.equal(checked.status, 0, checked.stdout + checked.stderr);
      for (const expr of exprs) {
        for (const [name] of expr.matchAll(/\b(?:x2go|process|nodejs)_[a-z0-9_]+/g)) {
          // A histogram's series are exported with _bucket, _sum and _count.
          assert.ok(names.has(name), `${name} (in ${expr}) is not exported`);
        }
      }
      const snippet = readFileSync(join(ROOT, 'contrib', 'prometheus-x2gosessiond.yml'), 'utf8');
      writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 15s\n${snippet}`);
      const config = spawnSync(PROMTOOL, ['check', 'config', '--syntax-only', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
      assert.equal(config.status, 0, config.stdout + config.stderr);
      rmSync(dir, { recursive: true });
    });

    test('scrapes within 4 s share one database query: a change shows in the next snapshot, not before', async () => {
      // The first scrape after the scenario filled the cache; a change now is not seen at once...
      const before = sampleValue(parseMetrics(await scrape()), 'x2go_sessions', { server: SRV, status: 'S' });
      const r = inst.helper('x2gochangestatus', ['S', sid('alice', 0)], alice);
      assert.equal(r.code, 0, r.stderr);
      const soon = sampleValue(parseMetrics(await scrape()), 'x2go_sessions', { server: SRV, status: 'S' });
      // ...(it may be, if the cache expired between the two scrapes), but after the TTL it is.
      await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_TTL_MS + 200));
      const later = sampleValue(parseMetrics(await scrape()), 'x2go_sessions', { server: SRV, status: 'S' });
      assert.equal(later, before + 1);
      assert.ok(soon === before || soon === later);
    });
  });
}
