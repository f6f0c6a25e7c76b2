// The same tests as dropin.test.ts, with the resident service (x2gosessiond) answering the
// installed launcher at its default socket, as `x2go-sessiondb install` sets a server up.
import { viaService } from './support/service.js';

await viaService(() => import('./dropin.test.js'));
