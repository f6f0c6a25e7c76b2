// Makes and starts the suites' own PostgreSQL cluster (support/postgres.ts) and prints where it
// listens: .ci/run calls it before the suite, so a server that cannot start fails there, once.
// With --fresh the cluster is dropped and made again first: CI starts from nothing an earlier
// run on the machine left behind.

import { ensurePostgres, pgPort, recreateCluster, TEST_CLUSTER } from './postgres.js';

const args = process.argv.slice(2);
if (args.some((a) => a !== '--fresh')) {
  console.error('usage: start-postgres.ts [--fresh]');
  process.exit(2);
}
if (args.includes('--fresh')) recreateCluster();
else ensurePostgres();
console.log(`PostgreSQL cluster ${TEST_CLUSTER} online on localhost:${pgPort()}${args.length ? ' (made afresh)' : ''}`);
