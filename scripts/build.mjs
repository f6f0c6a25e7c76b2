// Builds the runnable CLIs into dist/: one self-contained bundle per program (better-sqlite3's
// JavaScript included, its compiled addon copied beside), plus dist/helpers/, one entry per
// reference helper name, pointing at the x2godb bundle. dist/ is all an installation needs.
//
// Start-up is what every helper call pays, so the bundles are CommonJS: on Node 20 the ESM
// loader adds about 8 ms to each process (measured: 44 ms vs 36 ms per x2gogetdisplays call).
// The sources stay ESM; import.meta.url is supplied from __filename.

import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// The helper names, from their one source (src/app/helper-names.ts, no imports): compiled in
// memory by esbuild and imported.
const namesModule = await build({
  entryPoints: [join(root, 'src/app/helper-names.ts')],
  bundle: true,
  format: 'esm',
  write: false,
  logLevel: 'warning',
});
export const { PROGRAM_NAMES } = await import(`data:text/javascript,${encodeURIComponent(namesModule.outputFiles[0].text)}`);

/** postgres.js's require('tls') is answered by scripts/lazy-tls.cjs (see there). */
const lazyTls = {
  name: 'lazy-tls',
  setup(b) {
    b.onResolve({ filter: /^tls$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'postgres')}`) ? { path: join(root, 'scripts', 'lazy-tls.cjs') } : undefined,
    );
  },
};

// The dashboard (src/service/observe/web/): its script bundled with uPlot for browsers, its style
// sheet with uPlot's, and its page, all put into the service's bundle as one constant
// (__X2GO_WEB_ASSETS__): the service serves them from memory, with nothing to install beside it.
const web = join(root, 'src/service/observe/web');
const webBuild = await build({
  entryPoints: [join(web, 'app.ts'), join(web, 'app.css')],
  outdir: join(root, 'web-out'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
});
const webOutput = (ext) => webBuild.outputFiles.find((f) => f.path.endsWith(ext)).text;
const webAssets = { html: readFileSync(join(web, 'index.html'), 'utf8'), js: webOutput('.js'), css: webOutput('.css') };

rmSync(dist, { recursive: true, force: true });
await build({
  entryPoints: {
    x2godb: join(root, 'src/cli/loader.ts'),
    'x2godb-main': join(root, 'src/cli/main.ts'),
    x2godbadmin: join(root, 'src/cli/x2godbadmin.ts'),
    'x2go-sessiondb': join(root, 'src/install/main.ts'),
    x2gosessiond: join(root, 'src/service/main.ts'),
    // The service's one privileged operation, run by root apart from it (src/runas/main.ts).
    'x2gosessiond-runas': join(root, 'src/runas/main.ts'),
  },
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  loader: { '.sql': 'text', '.patch': 'text' },
  plugins: [lazyTls],
  // Only needed when no addon path is given, and we always give one.
  external: ['bindings'],
  // The dashboard's assets are referenced by the service's code only; the other bundles do not
  // carry them. A string, not an object: esbuild makes an object define a module that every
  // bundled module would initialize, the helpers' too.
  define: { 'import.meta.url': '__importMetaUrl', __X2GO_WEB_ASSETS__: JSON.stringify(JSON.stringify(webAssets)) },
  banner: { js: "#!/usr/bin/env node\nconst __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  logLevel: 'warning',
});

for (const program of ['x2godb', 'x2godbadmin', 'x2go-sessiondb', 'x2gosessiond', 'x2gosessiond-runas'])
  chmodSync(join(dist, `${program}.cjs`), 0o755);
const addon = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
copyFileSync(addon, join(dist, 'better_sqlite3.node'));
// The launcher is compiled at install time, with that machine's paths in it.
copyFileSync(join(root, 'src/launcher/x2godb-launcher.c'), join(dist, 'x2godb-launcher.c'));
copyFileSync(join(root, 'src/launcher/x2godb-listing.c'), join(dist, 'x2godb-listing.c'));
// The service's SO_PEERCRED addon (src/native/peercred.c): built here for dist/ (tests, quick
// start) and again at install time, like the launcher, with the installing node's headers.
copyFileSync(join(root, 'src/native/peercred.c'), join(dist, 'peercred.c'));
const headers = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'].find((dir) =>
  existsSync(join(dir, 'node_api.h')),
);
if (!headers)
  throw new Error(
    `build: no Node.js headers (node_api.h) beside ${process.execPath} or in /usr/include/node; install the package that has them`,
  );
execFileSync(
  'cc',
  ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', `-I${headers}`, '-o', join(dist, 'peercred.node'), join(dist, 'peercred.c')],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
// The Perl module that replaces X2Go::Server::DB; the installer fills in the launcher's path.
copyFileSync(join(root, 'src/install/DB.pm'), join(dist, 'DB.pm'));
mkdirSync(join(dist, 'helpers'));
for (const name of PROGRAM_NAMES) symlinkSync('../x2godb.cjs', join(dist, 'helpers', name));

// V8's code cache for the main bundle, made by the node that runs this build (see loader.ts).
execFileSync(process.execPath, [join(dist, 'x2godb.cjs'), '--x2godb-train-code-cache'], { stdio: ['ignore', 'ignore', 'inherit'] });
