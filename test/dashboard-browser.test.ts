// The dashboard (issue 13) in a real headless Chromium (Debian's chromium, driven by
// playwright-core, which downloads no browser): the page loads with no console error; with
// 10,000 sessions in the database it filters, sorts and pages in the service; a session started
// by a helper call appears within 2 s without a reload (Server-Sent Events); an action without
// the admin's login, without the CSRF token, or from another origin is refused, and with them it
// works. A screenshot of each page (and of the phone layout) goes to test-artifacts/dashboard/.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Account } from '../src/system/accounts.js';
import { NEEDS_ROOT, NEEDS_X2GOUSER, SQLITE, type TestDatabase } from './support/backends.js';
import { installLauncher, type Installed } from './support/launcher.js';
import { RUNAS_SOCKET_ENV } from '../src/service/run-as-session-user.js';
import { startRunAs } from './support/runas.js';
import { serviceUser } from './support/service.js';
import { startWatchedService, type WatchedService } from './support/observe.js';
import { hasCompiler } from './support/requirements.js';
import { LOAD_TEST_QUOTA, ROOT, setQuota } from './support/sandbox.js';
import { ensureUser } from './support/system.js';
import { scratchDir } from './support/scratch.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'dashboard');
const SESSIONS = 10_000;
const needs = SQLITE.needs(
  NEEDS_ROOT,
  NEEDS_X2GOUSER,
  [hasCompiler, '/usr/bin/cc'],
  [existsSync(CHROMIUM), 'chromium (apt-get install chromium)'],
);

/** 10,000 sessions of alice and bob on two servers, every status, older than anything the test starts. */
function fill(path: string): void {
  const db = new Database(path);
  const insert = db.prepare(
    `INSERT INTO sessions (session_id, display, uname, server, client, status, init_time, last_time, cookie)
     VALUES (?, ?, ?, ?, '10.1.0.1', ?, datetime('now', 'localtime', ?), datetime('now', 'localtime', ?), '0123456789abcdef0123456789abcdef')`,
  );
  db.transaction(() => {
    for (let i = 0; i < SESSIONS; i++) {
      const user = i % 2 ? 'bob' : 'alice';
      insert.run(
        `${user}-${1000 + i}-${1600000000 + i}_stDxfce_dp24`,
        1000 + i,
        user,
        i % 3 ? 'srv-a' : 'srv-b',
        'RSSF'[i % 4],
        `-${i + 3600} seconds`,
        `-${i + 60} seconds`,
      );
    }
  })();
  db.close();
}

/** This node's server name: the sessions the page terminates are this node's. */
const SERVER = 'x2go-dash';

describe('the dashboard in headless Chromium (SQLite, 10,000 sessions)', needs.options, () => {
  let box: TestDatabase;
  let inst: Installed;
  let watched: WatchedService;
  const runas: ChildProcess[] = [];
  let browser: Browser;
  let page: Page;
  let token: string;
  let alice: Account;
  const errors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const count = async (where: string, params: unknown[] = []) =>
    Number((await box.query<{ n: number }>(`SELECT count(*) AS n FROM sessions ${where}`, params))[0]?.n);

  before(async () => {
    needs.check();
    alice = ensureUser('alice');
    ensureUser('bob');
    mkdirSync(ARTIFACTS, { recursive: true });
    box = await SQLITE.createDatabase({ database: 'x2go_test_dashboard' });
    // 10,000 sessions of a few users: far above the per-user quota, which this suite is not about.
    setQuota(box.configDir, LOAD_TEST_QUOTA);
    fill(box.dbPath);
    // alice holds 5,000 of them: far over the default quota, which the new session must pass.
    setQuota(box.configDir, LOAD_TEST_QUOTA);
    inst = installLauncher(box, { service: false });
    // The page's terminate goes the farm's way: x2gosessiond-runas runs x2goterminate-session as
    // the session's user. The stand-in records the end as X2Go's would: x2gochangestatus F.
    const programs = scratchDir('x2godb-dash-programs-');
    chmodSync(programs, 0o755);
    writeFileSync(join(programs, 'x2goterminate-session'), `#!/bin/sh\nexec ${inst.prefix}/helpers/x2gochangestatus F "$1"\n`, {
      mode: 0o755,
    });
    const runasSocket = await startRunAs(box.configDir, SERVER, programs, runas);
    process.env[RUNAS_SOCKET_ENV] = runasSocket;
    try {
      watched = await startWatchedService(box.configDir, inst.socket, ['--hostname', SERVER]);
    } finally {
      delete process.env[RUNAS_SOCKET_ENV];
    }
    token = readFileSync(join(box.configDir, 'x2gosql', 'sessiond-admin-token'), 'utf8').trim();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await watched?.service.stop();
    for (const child of runas) child.kill('SIGTERM');
    await box?.drop();
  });

  test('the page loads with no console error; the token file is the service account’s 0600; sessions need the login', async () => {
    const { statSync } = await import('node:fs');
    const st = statSync(join(box.configDir, 'x2gosql', 'sessiond-admin-token'));
    assert.deepEqual([st.uid, st.mode & 0o777], [serviceUser().uid, 0o600]);
    await page.goto(`${watched.url}/`);
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await page.locator('#sessions tbody tr').count(), 0);
    assert.equal(await page.isVisible('#need-login'), true);
    await shot('sessions-logged-out');
    const res = await fetch(`${watched.url}/api/sessions`);
    assert.equal(res.status, 401);
  });

  test('an action is refused without the login, without the CSRF token, and from another origin', async () => {
    const target = 'alice-1000-1600000000_stDxfce_dp24';
    const body = JSON.stringify({ action: 'terminate', sessionId: target });
    // From the page itself, not logged in.
    const fromPage = await page.evaluate(
      async (b) => (await fetch('/api/actions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: b })).status,
      body,
    );
    assert.equal(fromPage, 403);
    // Chromium logs that refusal as a console error ("Failed to load resource: 403"): it was asked for.
    await new Promise((r) => setTimeout(r, 100));
    errors.splice(0, errors.length, ...errors.filter((e) => !/status of 403/.test(e)));
    // A browser session's cookie without its CSRF token, and with it from a foreign Origin.
    const login = await fetch(`${watched.url}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: watched.url },
      body: JSON.stringify({ token }),
    });
    assert.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(login.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    const { csrf } = (await login.json()) as { csrf: string };
    const post = (headers: Record<string, string>) =>
      fetch(`${watched.url}/api/actions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    assert.equal((await post({ Cookie: cookie, Origin: watched.url })).status, 403, 'no CSRF token');
    assert.equal((await post({ Cookie: cookie, Origin: watched.url, 'X-CSRF-Token': 'x'.repeat(43) })).status, 403, 'a wrong CSRF token');
    assert.equal((await post({ Cookie: cookie, Origin: 'http://evil.example', 'X-CSRF-Token': csrf })).status, 403, 'another origin');
    assert.equal((await post({ Cookie: cookie, 'X-CSRF-Token': csrf })).status, 403, 'no Origin');
    // A wrong token does not log in, and is answered slowly (guessing costs time).
    const asked = Date.now();
    const wrong = await fetch(`${watched.url}/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: watched.url },
      body: JSON.stringify({ token: 'guess' }),
    });
    assert.equal(wrong.status, 401);
    assert.ok(Date.now() - asked >= 900, `answered after ${Date.now() - asked} ms`);
    // A foreign Host name (DNS rebinding) is refused.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve) =>
      request(`${watched.url}/api/overview`, { headers: { Host: 'attacker.example' } }, (r) => resolve(r.statusCode ?? 0)).end(),
    );
    assert.equal(status, 421);
    assert.equal(await count('WHERE session_id = ? AND status = ?', [target, 'F']), 0, 'nothing was terminated');
  });

  test('logged in: 10,000 sessions paged by 50, filtered and sorted in the service', async () => {
    await page.fill('#token', token);
    await page.click('#login button');
    await page.waitForSelector('#admin-badge:not([hidden])');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr').length === 50);
    assert.match((await page.textContent('#page-info')) ?? '', /page 1 of 200 · 10,000 sessions/);
    await shot('sessions');
    const first = await page.locator('#sessions tbody tr').first().getAttribute('data-session');
    await page.click('#next');
    await page.waitForFunction(() => /page 2 of/.test(document.querySelector('#page-info')?.textContent ?? ''));
    assert.notEqual(await page.locator('#sessions tbody tr').first().getAttribute('data-session'), first);

    await page.fill('#f-user', 'bob');
    await page.selectOption('#f-status', 'S');
    await page.fill('#f-server', 'srv-a');
    await page.click('#filters button');
    const expected = await count("WHERE uname = 'bob' AND status = 'S' AND server = 'srv-a'");
    await page.waitForFunction(
      (n) => (document.querySelector('#page-info')?.textContent ?? '').includes(`${n.toLocaleString('en')} sessions`),
      expected,
    );
    assert.match((await page.textContent('#page-info')) ?? '', /^page 1 of /);
    const cells = await page.$$eval('#sessions tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
    );
    assert.equal(cells.length, Math.min(50, expected));
    for (const c of cells) assert.deepEqual(c, ['bob', 'srv-a', 'S']);

    // Sorted by display, ascending: the first row is the database's lowest.
    await page.click('th[data-sort="display"]');
    await page.waitForSelector('th[data-sort="display"].asc');
    const lowest = (
      await box.query<{ d: number }>("SELECT min(display) AS d FROM sessions WHERE uname = 'bob' AND status = 'S' AND server = 'srv-a'")
    )[0]?.d;
    await page.waitForFunction((d) => document.querySelector('#sessions tbody tr td:nth-child(4)')?.textContent === String(d), lowest);
    await page.fill('#f-user', '');
    await page.selectOption('#f-status', '');
    await page.fill('#f-server', '');
    await page.click('th[data-sort="last_time"]');
    await page.click('th[data-sort="last_time"]');
    await page.waitForSelector('th[data-sort="last_time"].desc');
  });

  test('a session started by a helper call appears within 2 s, without a reload', async () => {
    await page.waitForSelector('#live.on');
    const id = 'alice-60-1700000300_stDxfce_dp24';
    const r = inst.helper('x2goinsertsession', ['60', SERVER, id], alice);
    assert.equal(r.code, 0, r.stderr);
    const called = Date.now();
    await page.waitForSelector(`#sessions tr[data-session="${id}"]`, { timeout: 2000 });
    const waited = Date.now() - called;
    assert.ok(waited <= 2000, `${waited} ms`);
    await shot('sessions-live');
  });

  test('logged in, terminate from the page works; the cookie is never shown', async () => {
    const id = 'alice-60-1700000300_stDxfce_dp24';
    await page.click(`#sessions tr[data-session="${id}"] button[data-action="terminate"]`);

    await page.waitForFunction(() => (document.querySelector('#message')?.textContent ?? '').includes('terminate: done'));
    assert.equal(await count('WHERE session_id = ? AND status = ?', [id, 'F']), 1);
    const html = await page.content();
    assert.doesNotMatch(html, /0123456789abcdef0123456789abcdef/);
  });

  test('nodes and plots pages, and the phone layout', async () => {
    await page.click('#nav-nodes');
    await page.waitForSelector('#page-nodes:not([hidden])');
    await shot('nodes');
    await page.click('#nav-plots');
    await page.waitForSelector('#plot-status .uplot');
    await page.waitForSelector('#plot-logins .uplot');
    await page.waitForSelector('#plot-latency .uplot');
    await shot('plots');
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    phone.on('console', (m) => {
      if (m.type() === 'error') errors.push(`phone: ${m.text()}`);
    });
    await phone.goto(`${watched.url}/`);
    await phone.waitForSelector('#login');
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the page is ${width} px wide on a 390 px phone`);
    await phone.screenshot({ path: join(ARTIFACTS, 'phone-sessions.png'), fullPage: true });
    await phone.close();
    assert.deepEqual(errors, []);
  });
});
