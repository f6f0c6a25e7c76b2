// The same tests as listing-programs.test.ts, with the resident service (x2gosessiond) answering
// the installed launcher: the launcher reads the state files and runs the programs, the service
// decides and changes the database in one request.
import { viaService } from './support/service.js';

await viaService(() => import('./listing-programs.test.js'));
