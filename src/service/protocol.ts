// What the setgid launcher and the resident service (x2gosessiond) say to each other over the
// Unix socket. The launcher's side is C (src/launcher/x2godb-launcher.c); keep both in step.
//
//   request   u32 length (big-endian), then NUL-separated fields:
//             "X2DB2", the caller's real uid, when it was sent (milliseconds of the host's
//             CLOCK_MONOTONIC, which the service reads too), the program name, then its arguments
//   go        one byte 'G', written with the request: the service may run the command as soon
//             as it has accepted it
//   accept    one byte as soon as the request is read: 'R' (the command only reads) or 'W'
//   response  u32 length, then: u8 exit code, u32 stdout length, stdout, stderr
//
// X2DB3 is X2DB2 with a trailer: after its go-ahead the caller sends one more frame (u32 length,
// then at most MAX_REQUEST bytes), which the command receives once it comes (dispatch.ts,
// Request.trailer). The launcher sends x2golistsessions' agent state report so (agent-report.ts):
// the service lists the sessions while the launcher reads the state files. Only the programs that
// take a trailer may be asked in X2DB3; nothing a command changes may depend on a trailer that
// has not come, and a trailer not whole within 5 s of the request's reading fails the command.
//
// A command runs at most once, and only while its launcher still waits: the launcher waits 5 s
// for the accept and then gives up with an error (it runs the command itself only if the
// connection was closed before any accept: the service ran nothing), so the service refuses a
// request sent more than STALE_AFTER_MS before it read it, writes its accept before it starts
// the command, and runs nothing after a refusal.
//
// X2DB1, the first version, has no time, and its go-ahead comes only after the accept: a second
// exchange on every call. It is still answered, for a launcher built before X2DB2 until the
// installer replaces it, and x2go-sessiondb status asks in it (client.ts), so that it sees a
// service started before X2DB2 too.
//
// A malformed or oversized request gets 'E' instead of the accept, then a response with exit
// code 2 and one line on stderr; a stale one the same with exit code 4 (the service's slowness,
// not the caller's fault).

/** Where the service listens and the launcher asks, unless both are told otherwise. */
export const DEFAULT_SOCKET = '/run/x2go-sessiondb/sessiond.sock';
export const MAGIC = 'X2DB1';
export const MAGIC_EARLY_GO = 'X2DB2';
export const MAGIC_TRAILER = 'X2DB3';
/** A request read later than this after it was sent is refused: its launcher gives up at 5 s. */
export const STALE_AFTER_MS = 4_000;
/** Far above any command's arguments (createsession: 9 short ones), far below what hurts. */
export const MAX_REQUEST = 64 * 1024;
export const MAX_FIELDS = 40;
export const ACCEPT_READ = 0x52; // 'R'
export const ACCEPT_WRITE = 0x57; // 'W'
export const REJECTED = 0x45; // 'E'
export const GO = 0x47; // 'G'
/** A request for the service's counters instead of a command (x2go-sessiondb status). */
export const STATUS_PROGRAM = '.status';

export interface ServiceRequest {
  uid: number;
  program: string;
  args: string[];
  /** X2DB2: when the launcher sent it (CLOCK_MONOTONIC, ms); its go-ahead follows it at once. */
  sentAtMs?: number;
  /** X2DB3: a trailer follows the go-ahead. */
  trailer?: true;
}

/** This host's CLOCK_MONOTONIC in milliseconds, the launcher's clock (libuv reads the same). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

export class ProtocolError extends Error {}

/**
 * An X2DB1 request, or X2DB2 when it has a sending time, X2DB3 when it also has a trailer (the
 * go-ahead and the trailer are the caller's to write).
 */
export function encodeRequest(req: ServiceRequest): Buffer {
  const head =
    req.sentAtMs === undefined
      ? [MAGIC, String(req.uid)]
      : [req.trailer ? MAGIC_TRAILER : MAGIC_EARLY_GO, String(req.uid), String(req.sentAtMs)];
  const payload = Buffer.from([...head, req.program, ...req.args].join('\0'), 'utf8');
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/** Parses a request payload (without its length); throws ProtocolError with a reason. */
export function decodeRequest(payload: Buffer): ServiceRequest {
  const fields = payload.toString('utf8').split('\0');
  const trailer = fields[0] === MAGIC_TRAILER;
  const early = fields[0] === MAGIC_EARLY_GO || trailer;
  if (fields.length > MAX_FIELDS + (early ? 1 : 0)) throw new ProtocolError(`more than ${MAX_FIELDS} fields`);
  const [magic, uid, ...rest] = fields;
  if (magic !== MAGIC && !early) throw new ProtocolError('not an x2godb request');
  if (uid === undefined || !/^\d{1,10}$/.test(uid) || Number(uid) > 0xfffffffe) throw new ProtocolError('malformed uid');
  const sent = early ? rest.shift() : undefined;
  if (early && (sent === undefined || !/^\d{1,15}$/.test(sent))) throw new ProtocolError('malformed sending time');
  const [program, ...args] = rest;
  if (!program || program.length > 64) throw new ProtocolError('malformed program name');
  return {
    uid: Number(uid),
    program,
    args,
    ...(sent === undefined ? {} : { sentAtMs: Number(sent) }),
    ...(trailer ? { trailer: true as const } : {}),
  };
}

export function encodeResponse(exitCode: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout, 'utf8');
  const err = Buffer.from(stderr, 'utf8');
  const frame = Buffer.alloc(4 + 1 + 4 + out.length + err.length);
  frame.writeUInt32BE(1 + 4 + out.length + err.length, 0);
  frame.writeUInt8(exitCode & 0xff, 4);
  frame.writeUInt32BE(out.length, 5);
  out.copy(frame, 9);
  err.copy(frame, 9 + out.length);
  return frame;
}

export function decodeResponse(payload: Buffer): { exitCode: number; stdout: string; stderr: string } {
  const exitCode = payload.readUInt8(0);
  const outLength = payload.readUInt32BE(1);
  return {
    exitCode,
    stdout: payload.subarray(5, 5 + outLength).toString('utf8'),
    stderr: payload.subarray(5 + outLength).toString('utf8'),
  };
}
