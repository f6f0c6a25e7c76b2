// What the fuzzing tests share (test/service-fuzz.test.ts, test/launcher-fuzz.test.ts): commands
// fitting each command's usage, with argument values that are mostly valid (so that they reach
// the database) and sometimes anything; and the rows a user must never be able to change.

import Database from 'better-sqlite3';
import fc from 'fast-check';
import { COMMANDS } from '../../src/app/commands.js';
import { HELPERS } from '../../src/app/helpers.js';
import type { Account } from '../../src/system/accounts.js';

export const SRV = 'x2go-test';
export const sid = (user: string, n: number) => `${user}-${50 + n}-${1700000000 + n}_stDxfce_dp24`;

/** Values for each argument name of the commands' usage strings, mostly valid, some not. */
export function valueArbitrary(name: string, users: Account[]): fc.Arbitrary<string> {
  const sessions = users.flatMap((u) => [sid(u.name, 0), sid(u.name, 1), sid(u.name, 9)]);
  // Desktop-sharing ids: a viewer's row on an owner's desktop.
  const shadows = users.flatMap((v) => users.map((o) => `${v.name}-60-1700000060_stS1XSHAD${o.name}XSHADPP0XSHAD1`));
  const pools: Record<string, string[]> = {
    session_id: [...sessions, ...shadows],
    display: ['50', '51', '55', '60', '61', '0', '59536'],
    display_start: ['50', '60'],
    server: [SRV, 'other-host', '--all-servers'],
    'server|--all-servers': [SRV, '--all-servers'],
    port: ['30000', '30001', '30005', '30010', '0', '65536'],
    port_count: ['1', '3', '16', '17'],
    port_start: ['30000', '30010'],
    gr_port: ['30001', '30002'],
    snd_port: ['30002'],
    fs_port: ['30003'],
    tekictrl_port: ['-1', '30004'],
    tekidata_port: ['-1'],
    client: ['10.1.2.3', '::1', 'client-host', 'bad|client'],
    cookie: ['abcdef0123456789', '0123456789abcdef0123456789abcdef0'],
    pid: ['1234', '4194304', '0'],
    status: ['R', 'S', 'T', 'F', 'X'],
    path: ['/home/x', '/home/bob/share', 'relative', '/with|pipe'],
    shadreq_user: users.map((u) => u.name),
    session_suffix: ['_stDxfce_dp24', '_stS1XSHADbobXSHAD'],
    busy_displays: ['', '51,52', 'x'],
    busy_ports: ['', '30000,30001'],
  };
  const valid = fc.constantFrom(...(pools[name] ?? ['x']));
  return fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 });
}

/** A command as a helper or x2godb would send it: its program and arguments, fitting its usage. */
export function commandArbitrary(users: Account[]): fc.Arbitrary<{ program: string; args: string[] }> {
  const shapes: { program: string; first: string[]; usage: string }[] = [
    ...Object.entries(HELPERS).map(([program, spec]) => ({ program, first: [], usage: spec.usage })),
    ...Object.entries(COMMANDS).map(([command, spec]) => ({ program: 'x2godb', first: [command], usage: spec.usage })),
  ];
  return fc.constantFrom(...shapes).chain(({ program, first, usage }) => {
    const required = (usage.match(/<[^>]+>/g) ?? []).map((n) => n.slice(1, -1));
    const optional = (usage.match(/\[[^\]]+\]/g) ?? []).map((n) => n.slice(1, -1));
    return fc
      .tuple(fc.tuple(...required.map((n) => valueArbitrary(n, users))), fc.nat({ max: optional.length }))
      .chain(([values, extra]) =>
        fc
          .tuple(...optional.slice(0, extra).map((n) => valueArbitrary(n, users)))
          .map((more) => ({ program, args: [...first, ...values, ...more] })),
      );
  });
}

/** Every row that is not `user`'s, nor a desktop-sharing row on `user`'s desktop. */
export function othersRows(dbPath: string, user: string): string {
  const db = new Database(dbPath, { readonly: true });
  try {
    const mine = `${user}-%`;
    const shared = `%XSHAD${user}XSHAD%`;
    return [
      db.prepare('select * from sessions where uname != ? and session_id not like ? order by session_id').raw().all(user, shared),
      db.prepare('select * from used_ports where session_id not like ? and session_id not like ? order by port').raw().all(mine, shared),
      db
        .prepare('select * from mounts where session_id not like ? and session_id not like ? order by session_id, path')
        .raw()
        .all(mine, shared),
    ]
      .map((rows) => JSON.stringify(rows))
      .join('\n');
  } finally {
    db.close();
  }
}
