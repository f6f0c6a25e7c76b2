// The same tests as differential-postgres.test.ts, each launcher call answered by the resident service
// (x2gosessiond) instead of a Node process of its own; outputs must be the same.
import { viaService } from './support/service.js';

await viaService(() => import('./differential-postgres.test.js'));
