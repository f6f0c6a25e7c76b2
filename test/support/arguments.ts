// The arguments of every usage line in the command table (src/app/commands.ts), a valid value
// for each and values that must be refused: shared by the bad-input matrix and by the test that
// runs every command once with valid arguments (read-only.test.ts), so a new argument name gets
// its values in one place.

import { hostname, userInfo } from 'node:os';

export const me = userInfo().username;
export const isRoot = process.getuid?.() === 0;
export const server = hostname().split('.')[0] ?? 'x2goserver';
export const SID = `${me}-51-1700000051_stDxfce_dp24`;

export const LONG = 'x'.repeat(5000);
export const INJECTIONS = [
  "'",
  "x' or '1'='1",
  '1; drop table sessions; --',
  '$(touch /tmp/pwned)',
  '`id`',
  'a\\b',
  '$$x$$',
  'ünïcödé',
  '|',
  ' ',
  '\n',
];

/** A valid value for each argument name of the usage lines, and values that must be refused. */
export const ARGUMENTS: Record<string, { valid: string; invalid: string[] }> = {
  display: { valid: '51', invalid: ['', '0', '-5', '59536', 'abc', '5 1', '1e2', '0x33', '+51', '99999999999999'] },
  server: { valid: server, invalid: ['', 'a b', 'srv;', 'a'.repeat(101), '-srv', 'srv.'] },
  session_id: {
    valid: SID,
    invalid: [
      '',
      'alice',
      `${me}-51-1700000051`,
      `${SID}'`,
      `${SID};`,
      `${me}-5-1700000051_stD_dp24`,
      `${SID}${LONG}`,
      ...(isRoot ? [] : ['someoneelse-51-1700000051_stDxfce_dp24']),
    ],
  },
  port: { valid: '30001', invalid: ['', '0', '65536', '-1', 'x', '30001.5'] },
  gr_port: { valid: '30001', invalid: ['0', '65536', 'x'] },
  snd_port: { valid: '30002', invalid: ['-1', '70000'] },
  fs_port: { valid: '30003', invalid: ['', 'port'] },
  tekictrl_port: { valid: '-1', invalid: ['-2', '65536', 'x', ''] },
  tekidata_port: { valid: '-1', invalid: ['-3', 'none'] },
  pid: { valid: '4242', invalid: ['', '0', '-1', '4194305', 'pid'] },
  cookie: { valid: '378b0cdbb51fe1b8147f43a2bccb514d', invalid: ['', 'a'.repeat(34), 'ab cd', 'ab-cd'] },
  client: { valid: '10.0.0.1', invalid: ['', '10.0.0.256.1', '10.0.0.1 ', '1.2.3', '-host', LONG] },
  status: { valid: 'S', invalid: ['', 'X', 'r', 'RS'] },
  path: { valid: '/tmp/.x2go-u/media/disk/_home', invalid: ['', 'relative', '/a|b', '/a\nb', `/${LONG}`, '/a\tb'] },
  shadreq_user: { valid: 'root', invalid: ['', '-x', 'a b', 'x;y', "o'neil"] },
  'server|--all-servers': { valid: '--all-servers', invalid: ['', '--all', 'a b'] },
  session_suffix: {
    valid: '_stDxfce_dp24',
    invalid: ['', 'stDxfce_dp24', '_stDxfce', "_stDxfce_dp24'", `_stD${LONG}_dp24`, ...(isRoot ? [] : ['_stS1XSHADsomeoneXSHADPP51_dp24'])],
  },
  display_start: { valid: '50', invalid: ['', '0', '-1', '59536', 'x'] },
  port_count: { valid: '3', invalid: ['', '0', '-3', '17', 'three'] },
  port_start: { valid: '30000', invalid: ['', '0', '65536', '-1'] },
  busy_displays: { valid: '50,51', invalid: ['50,,51', '50;51', 'x', '-1', '70000'] },
  days: { valid: '90', invalid: ['', '0', '-1', '36501', 'x', '9 0', '1e2'] },
  '--user=U': { valid: '--user=root', invalid: ['--user=', '--user=a b', '--user=x;y', '--usr=root', 'root'] },
  '--server=S': { valid: '--server=vm', invalid: ['--server=', '--server=a b', '--server=srv;', '--server'] },
  '--since=T': { valid: '--since=1h', invalid: ['--since=', '--since=yesterday', '--since=2026-02-31', '--since=1y', '--since=-1h'] },
  busy_ports: { valid: '30001', invalid: ['30001,', '65536', ' 30001'] },
  '--json': { valid: '--json', invalid: ['', '--jsn', 'json', '-j'] },
};

export function argumentNames(usage: string): string[] {
  return [...usage.matchAll(/[<[]([^>\]]+)[>\]]/g)].map((m) => m[1] ?? '');
}

/** The valid value of each argument of a usage line, in order. */
export function validArguments(program: string, usage: string): string[] {
  return argumentNames(usage).map((n) => {
    const spec = ARGUMENTS[n];
    if (!spec) throw new Error(`no test values for argument <${n}> of ${program}`);
    return spec.valid;
  });
}
