// The system account the resident service x2gosessiond runs as: not root. Its primary group is
// x2gouser, the launcher's group, which is all its work needs (the socket's group, the SQLite
// file root:x2gouser 0660, and the -wal and -shm files it creates getting that group, so that
// helpers without the service can still open them). Its PostgreSQL password file is its own.
// `x2go-sessiondb install` creates it; the tests run the service as it too.

import { lookupUser, type Account } from './accounts.js';

export const SERVICE_USER = '_x2gosessiond';
export const SERVICE_GROUP = 'x2gouser';

export function serviceAccount(): Account | undefined {
  return lookupUser(SERVICE_USER);
}
