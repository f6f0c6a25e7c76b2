import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionDbError } from '../src/model/errors.js';
import {
  parseClient,
  parseCookie,
  parseDisplay,
  parseMountPath,
  parseOptionalPort,
  parsePid,
  parsePort,
  parseServer,
  parseSessionId,
  parseStatus,
  parseUserName,
} from '../src/model/validate.js';

function rejects(parse: (v: string) => unknown, value: string): void {
  assert.throws(
    () => parse(value),
    (err: unknown) => err instanceof SessionDbError && err.code === 'invalid' && !err.message.includes('\n'),
    `accepted ${JSON.stringify(value)}`,
  );
}

describe('argument validation', () => {
  test('session ids in the x2gosid format are accepted as they are', () => {
    for (const sid of [
      'alice-51-1700000000_stDxfce4-session_dp24',
      'bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24',
      'j.doe@example.com-1234-123456789012_stRgnome_dp32_xdmcp',
      'DOMAINalice-50-1700000000_stDKDE_dp16',
    ])
      assert.equal(parseSessionId(sid), sid);
  });

  test('malformed session ids are refused, never rewritten', () => {
    for (const sid of [
      '',
      'alice',
      'alice-51-1700000000',
      "alice'-51-1700000000_stD_dp24",
      'alice-51-1700000000_stD_dp24;rm -rf /',
      'alice-51-1700000000_stD_dp24\n',
      'alice-5-1700000000_stD_dp24',
      'alice-51-17000000_stD_dp24',
      'alice-51-1700000000_stD_dp',
      'alice-51-1700000000_st@D_dp24',
      '-alice-51-1700000000_stD_dp24',
      `${'a'.repeat(490)}-51-1700000000_stD_dp24`,
      'alice-51-1700000000_stD_dp24\0',
      'ålice-51-1700000000_stD_dp24',
    ])
      rejects(parseSessionId, sid);
  });

  test('numbers: displays, ports, pids within range, no signs or spaces', () => {
    assert.equal(parseDisplay('51'), 51);
    assert.equal(parseDisplay('59535'), 59535);
    for (const v of ['0', '-1', '59536', '5x', ' 51', '51 ', '', '1e3', '0x33', '+51', '99999999999']) rejects(parseDisplay, v);
    assert.equal(parsePort('65535'), 65535);
    for (const v of ['0', '65536', '-1', 'port']) rejects(parsePort, v);
    assert.equal(parseOptionalPort('-1', 'tekictrl_port'), -1);
    rejects((v) => parseOptionalPort(v, 'tekictrl_port'), '-2');
    assert.equal(parsePid('4194304'), 4194304);
    for (const v of ['0', '4194305', 'abc']) rejects(parsePid, v);
  });

  test('status is one of R S T F', () => {
    for (const s of ['R', 'S', 'T', 'F']) assert.equal(parseStatus(s), s);
    for (const s of ['r', 'X', 'RS', '', "R'"]) rejects(parseStatus, s);
  });

  test('client is an IP address or a host name; server a host name', () => {
    for (const c of ['10.0.0.1', '::1', '2001:db8::42', 'client.example.com', 'pc-17']) assert.equal(parseClient(c), c);
    for (const c of ['', '10.0.0', '1.2.3.4; drop', "x'y", 'a b', '-x.example', '123', '$(id)']) rejects(parseClient, c);
    assert.equal(parseServer('x2go-01.example.org'), 'x2go-01.example.org');
    for (const s of ['', 'a|b', "srv'", 'srv;', 'a'.repeat(101), 'ünicode', 'srv\n']) rejects(parseServer, s);
  });

  test('cookies, user names and mount paths', () => {
    assert.equal(parseCookie('378b0cdbb51fe1b8147f43a2bccb514d'), '378b0cdbb51fe1b8147f43a2bccb514d');
    for (const c of ['', 'a'.repeat(34), "abc'", 'ab cd']) rejects(parseCookie, c);
    assert.equal(parseUserName('j.doe@example.com'), 'j.doe@example.com');
    for (const u of ['', '-x', "o'neil", 'a b', 'x;y', 'ü']) rejects(parseUserName, u);
    assert.equal(parseMountPath('/tmp/.x2go-alice/media/disk/_home_alice_Docs'), '/tmp/.x2go-alice/media/disk/_home_alice_Docs');
    for (const p of ['', 'relative/path', '/a|b', '/a\nb', '/a\0b', `/${'a'.repeat(512)}`]) rejects(parseMountPath, p);
  });
});

describe('IP addresses without node:net', () => {
  test('agrees with net.isIP on addresses sshd reports, and on near misses', async () => {
    const { isIP } = await import('node:net');
    const { isIpAddress } = await import('../src/model/validate.js');
    const samples = [
      '10.0.0.1',
      '255.255.255.255',
      '0.0.0.0',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1.2.3.-4',
      '::1',
      '::',
      '2001:db8::1',
      'fe80::1ff:fe23:4567:890a',
      '::ffff:192.0.2.128',
      '2001:db8:::1',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      'gggg::1',
      '2001:db8::1/64',
      'fe80::1%eth0',
      ':',
      '',
      'localhost',
    ];
    for (const s of samples) assert.equal(isIpAddress(s), isIP(s) !== 0, s);
  });
});
