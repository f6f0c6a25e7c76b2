// What the setgid launcher and the resident service (x2gosessiond) say to each other over the
// Unix socket. The launcher's side is C (src/launcher/x2godb-launcher.c); keep both in step.
//
//   request   u32 length (big-endian), then NUL-separated fields:
//             "X2DB1", the caller's real uid, the program name, then its arguments
//   accept    one byte as soon as the request is read: 'R' (the command only reads) or 'W'
//   go        one byte 'G' from the launcher: only now does the service run the command. A
//             launcher that waited too long for the accept closes instead and runs the command
//             itself, so a command never runs twice.
//   response  u32 length, then: u8 exit code, u32 stdout length, stdout, stderr
//
// A malformed or oversized request gets 'E' instead of the accept, then a response with exit
// code 2 and one line on stderr.

/** Where the service listens and the launcher asks, unless both are told otherwise. */
export const DEFAULT_SOCKET = '/run/x2go-sessiondb/sessiond.sock';
export const MAGIC = 'X2DB1';
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
}

export class ProtocolError extends Error {}

export function encodeRequest(req: ServiceRequest): Buffer {
  const payload = Buffer.from([MAGIC, String(req.uid), req.program, ...req.args].join('\0'), 'utf8');
  const frame = Buffer.alloc(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/** Parses a request payload (without its length); throws ProtocolError with a reason. */
export function decodeRequest(payload: Buffer): ServiceRequest {
  const fields = payload.toString('utf8').split('\0');
  if (fields.length > MAX_FIELDS) throw new ProtocolError(`more than ${MAX_FIELDS} fields`);
  const [magic, uid, program, ...args] = fields;
  if (magic !== MAGIC) throw new ProtocolError('not an x2godb request');
  if (uid === undefined || !/^\d{1,10}$/.test(uid) || Number(uid) > 0xfffffffe) throw new ProtocolError('malformed uid');
  if (!program || program.length > 64) throw new ProtocolError('malformed program name');
  return { uid: Number(uid), program, args };
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
