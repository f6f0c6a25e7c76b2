// Makes and starts the suites' own PostgreSQL cluster (support/postgres.ts) and prints where it
// listens: .ci/run calls it before the suite, so a server that cannot start fails there, once.

import { ensurePostgres, pgPort, TEST_CLUSTER } from './postgres.js';

ensurePostgres();
console.log(`PostgreSQL cluster ${TEST_CLUSTER} online on localhost:${pgPort()}`);
