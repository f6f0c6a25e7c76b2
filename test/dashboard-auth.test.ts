// The dashboard's and the watch socket's edges, function by function (issue 13): the admin
// token file (made 0600; refused when it is anyone's but root's, readable by others, a symlink
// or too short), browser sessions and their CSRF token, the sessions query's validation, the
// watch request's, and metrics_listen=. The browser suite attacks the same over HTTP.

import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AdminAuth, COOKIE, loadToken } from '../src/service/observe/auth.js';
import { sessionQuery } from '../src/service/observe/http.js';
import { parseListen } from '../src/service/observe/settings.js';
import { parseWatchRequest } from '../src/service/observe/watch-socket.js';
import { ensureUser } from './support/system.js';
import { isRoot, requires } from './support/requirements.js';

const dir = mkdtempSync(join(tmpdir(), 'x2godb-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('the admin token file', requires([isRoot, 'root']).options, () => {
  test('made when missing: root’s, 0600, 32 random bytes', () => {
    const file = join(dir, 'made');
    const { token, problem } = loadToken(file);
    assert.equal(problem, undefined);
    const st = statSync(file);
    assert.deepEqual([st.uid, st.mode & 0o777], [0, 0o600]);
    assert.equal(readFileSync(file, 'utf8').trim(), token);
    assert.ok((token ?? '').length >= 43);
    assert.notEqual(loadToken(join(dir, 'made2')).token, token);
  });

  test('refused (actions off) when readable by others, another user’s, a symlink, or too short', () => {
    const open = join(dir, 'open');
    writeFileSync(open, 'x'.repeat(43));
    chmodSync(open, 0o644);
    assert.match(loadToken(open).problem ?? '', /must be a regular file of the service's account \(or root's\), mode 0600/);
    const theirs = join(dir, 'theirs');
    writeFileSync(theirs, 'x'.repeat(43), { mode: 0o600 });
    chownSync(theirs, ensureUser('alice').uid, 0);
    assert.match(loadToken(theirs).problem ?? '', /must be a regular file of the service's account/);
    const link = join(dir, 'link');
    symlinkSync(theirs, link);
    assert.match(loadToken(link).problem ?? '', /must be a regular file/);
    const short = join(dir, 'short');
    writeFileSync(short, 'abc\n', { mode: 0o600 });
    assert.match(loadToken(short).problem ?? '', /no token of at least 16 characters/);
    const auth = new AdminAuth(open);
    assert.ok(auth.problem);
    assert.equal(auth.login('x'.repeat(43)), undefined, 'no login with an unsafe file');
  });

  test('a browser session: the right token only; acting needs its CSRF token; a bearer token acts alone', () => {
    const file = join(dir, 'auth');
    const token = loadToken(file).token ?? '';
    const auth = new AdminAuth(file);
    assert.equal(auth.login(`${token}x`), undefined);
    assert.equal(auth.login(''), undefined);
    const session = auth.login(token);
    assert.ok(session);
    const cookie = `${COOKIE}=${session.id}`;
    assert.equal(auth.mayRead(request({ cookie })), true);
    assert.equal(auth.mayAct(request({ cookie })), false, 'no CSRF token');
    assert.equal(auth.mayAct(request({ cookie, 'x-csrf-token': `${session.csrf.slice(1)}A` })), false);
    assert.equal(auth.mayAct(request({ cookie: `${COOKIE}=${session.id}x`, 'x-csrf-token': session.csrf })), false, 'another session id');
    assert.equal(auth.mayAct(request({ cookie, 'x-csrf-token': session.csrf })), true);
    assert.equal(auth.mayAct(request({ authorization: `Bearer ${token}` })), true);
    assert.equal(auth.mayAct(request({ authorization: 'Bearer nope' })), false);
    auth.logout(request({ cookie }));
    assert.equal(auth.mayRead(request({ cookie })), false);
  });
});

describe('what the edges accept', () => {
  test('the sessions query: known sort keys, pages of 1 to 500, filters as given', () => {
    const q = sessionQuery(new URLSearchParams('user=alice&server=srv&status=S&sort=display&dir=asc&page=3&size=20'));
    assert.deepEqual(q, { uname: 'alice', server: 'srv', status: 'S', sort: 'display', descending: false, offset: 40, limit: 20 });
    for (const bad of ['sort=cookie', 'sort=session_id;drop', 'size=501', 'size=0', 'page=0', 'page=1.5', 'size=x']) {
      assert.throws(() => sessionQuery(new URLSearchParams(bad)), /must be/, bad);
    }
  });

  test('the watch request: filters only, a user may name only themselves, root anyone', () => {
    const alice = { uid: 1001, name: 'alice' };
    assert.deepEqual(parseWatchRequest('{}', alice), {});
    assert.deepEqual(parseWatchRequest('{"user":"alice","server":"srv"}', alice), { user: 'alice', server: 'srv' });
    assert.throws(() => parseWatchRequest('{"user":"bob"}', alice), /alice may watch only their own sessions/);
    assert.deepEqual(parseWatchRequest('{"user":"bob"}', { uid: 0, name: 'root' }), { user: 'bob' });
    assert.throws(() => parseWatchRequest('{"uid":0}', alice), /unknown field/);
    assert.throws(() => parseWatchRequest('{"user":1}', alice), /not text/);
    assert.throws(() => parseWatchRequest('[]', alice), /not an object/);
    assert.throws(() => parseWatchRequest('nope', alice), /not JSON/);
    assert.throws(() => parseWatchRequest('{"server":"a;b"}', alice), /not a host name/);
  });

  test('metrics_listen=: host:port, [v6]:port, empty for off', () => {
    assert.deepEqual(parseListen('127.0.0.1:9587', 'f'), { host: '127.0.0.1', port: 9587 });
    assert.deepEqual(parseListen('[::1]:9587', 'f'), { host: '::1', port: 9587 });
    assert.deepEqual(parseListen('x2go-node1.example.org:80', 'f'), { host: 'x2go-node1.example.org', port: 80 });
    assert.equal(parseListen('', 'f'), undefined);
    for (const bad of ['9587', '127.0.0.1', '127.0.0.1:65536', 'a b:1', 'host:port'])
      assert.throws(() => parseListen(bad, 'f'), /is not host:port/, bad);
  });
});
