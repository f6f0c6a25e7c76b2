// Lets node's test runner run the TypeScript sources: tsx for .ts, and .sql files imported as
// text, as esbuild's text loader does in the build.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./sql-loader.mjs', import.meta.url);
