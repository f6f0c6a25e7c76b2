// What a command returns, and how it is printed. The legacy format is byte for byte what the
// reference's wrapper prints (pipe-separated fields, lines joined by "\n", no final newline),
// because X2Go's shell and Perl tools parse exactly that. --json is for people and new scripts.

import type { LegacyTraits } from '../model/backend.js';
import type { SessionEvent } from '../model/history.js';
import type { Reserved } from '../model/store.js';
import { legacyFields } from '../model/session-columns.js';
import type { Mount, ServerLoad, SessionRow } from '../model/types.js';

export type Listing = 'sessions' | 'shadow' | 'root';

export type Output =
  /** `notes`: one stderr line each, beside the rows (rows a root listing refused to print). */
  | { kind: 'sessions'; listing: Listing; rows: SessionRow[]; notes?: string[] }
  | { kind: 'numbers'; values: number[] }
  | { kind: 'servers'; servers: ServerLoad[] }
  | { kind: 'mounts'; mounts: Mount[] }
  | { kind: 'value'; value: string | number | null | undefined }
  /** A reservation: one line, "<session id> <display> <port>...", for a shell's read. */
  | { kind: 'reserved'; reserved: Reserved }
  /** Ours: session history, oldest first: "at|event|session_id|uname|server|client|by_uid|node|detail" lines. */
  | { kind: 'events'; events: SessionEvent[] }
  /** A change that was made: the wrapper prints "ok". */
  | { kind: 'ok' }
  /** A change that was not needed or not made, without error: the wrapper prints nothing. */
  | { kind: 'none' };

export const ok: Output = { kind: 'ok' };
export const none: Output = { kind: 'none' };

type Field = string | number | null | undefined;

function field(value: Field): string {
  return value === null || value === undefined ? '' : String(value);
}

/** One listing row, in the reference's column order (model/session-columns.ts). */
export function sessionFields(row: SessionRow, withTeki: boolean): Field[] {
  return legacyFields(row, withTeki);
}

export function legacyLines(output: Output, traits: LegacyTraits): string[] {
  switch (output.kind) {
    case 'sessions': {
      const withTeki = traits.tekiColumns[output.listing];
      return output.rows.map((row) => sessionFields(row, withTeki).map(field).join('|'));
    }
    case 'numbers':
      return output.values.map((n) => `|${n}|`);
    case 'servers':
      return output.servers.map((s) => (traits.serverCounts ? `${s.server} ${s.sessions}` : s.server));
    case 'mounts':
      return output.mounts.map((m) => `${field(m.client)}|${m.path}`);
    case 'value':
      return output.value === null || output.value === undefined ? [] : [String(output.value)];
    case 'reserved':
      return [[output.reserved.sessionId, output.reserved.display, ...output.reserved.ports].join(' ')];
    case 'events':
      return output.events.map((e) =>
        [e.at, e.event, e.sessionId, e.uname, e.server, e.client, e.byUid, e.node, e.detail].map(field).join('|'),
      );
    case 'ok':
      return ['ok'];
    case 'none':
      return [];
  }
}

/** What goes to stderr beside a successful command's output (exit code 0). */
export function notesOf(output: Output): readonly string[] {
  return output.kind === 'sessions' ? (output.notes ?? []) : [];
}

/** The wrapper's stdout: lines joined by "\n" without a final newline, as the reference prints. */
export function legacyText(output: Output, traits: LegacyTraits): string {
  return legacyLines(output, traits).join('\n');
}

export function jsonText(output: Output): string {
  const body = (() => {
    switch (output.kind) {
      case 'sessions':
        return output.rows;
      case 'numbers':
        return output.values;
      case 'servers':
        return output.servers;
      case 'mounts':
        return output.mounts;
      case 'value':
        return output.value ?? null;
      case 'reserved': {
        const { sessionId, display, ports } = output.reserved;
        return { sessionId, display, ports };
      }
      case 'events':
        return output.events;
      case 'ok':
        return { ok: true };
      case 'none':
        return { ok: false };
    }
  })();
  return `${JSON.stringify(body)}\n`;
}
