// What a load test counts after its storm, on either backend (through TestDatabase.query, in SQL
// both understand): every session with its display and number of ports, every port, and the
// ports whose session is missing. A storm that half-made a session shows here.

import type { TestDatabase } from './backends.js';

export interface Census {
  /** [session_id, display, ports] of every session. */
  sessions: [string, number, number][];
  /** Ports whose session does not exist. */
  orphans: number;
  /** Every port in use. */
  ports: number[];
}

export async function takeCensus(db: TestDatabase): Promise<Census> {
  const sessions = await db.query<{ session_id: string; display: unknown; n: unknown }>(
    'select session_id, display, (select count(*) from used_ports p where p.session_id = s.session_id) as n from sessions s',
  );
  const [orphans] = await db.query<{ n: unknown }>(
    'select count(*) as n from used_ports where session_id not in (select session_id from sessions)',
  );
  const ports = await db.query<{ port: unknown }>('select port from used_ports');
  return {
    sessions: sessions.map((r) => [String(r.session_id), Number(r.display), Number(r.n)]),
    orphans: Number(orphans?.n ?? 0),
    ports: ports.map((r) => Number(r.port)),
  };
}
