// `npm run deb`: builds x2go-sessiondb_<version>_<arch>.deb from a built checkout (dist/) with
// dpkg-deb. The launcher and the service's SO_PEERCRED addon are compiled here, with the
// installer's own functions and the package's fixed paths (/usr/bin/node, /etc/x2go, the
// default socket); the unit is what src/install/service-unit.ts writes for those paths; the man
// pages are converted from man/*.md with pandoc. What `install` does beyond copying (diversions,
// x2gostartagent, --updatedb) is left to the maintainer scripts (packaging/deb/), which run the
// packaged `x2go-sessiondb install --from-package`.
//
//   node --import ./test/support/register.mjs scripts/build-deb.ts [--version V] [--out DIR]
//
// The output goes to build/ (git-ignored) unless --out says otherwise; the path of the .deb is
// the one line printed on stdout.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { compileLauncher, compilePeerCredAddon, DEFAULT_PREFIX, FILES, linkEntries } from '../src/install/install-launcher.js';
import { KNOWN_UPSTREAM, REFERENCE_PACKAGES } from '../src/install/dropin.js';
import { RUNAS_UNIT_NAME, runasUnitText, UNIT_NAME, unitText } from '../src/install/service-unit.js';
import { DEFAULT_CONFIG_DIR } from '../src/config/config.js';
import { DEFAULT_SOCKET } from '../src/service/protocol.js';
import { MAN_PAGES } from './man-pages.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A bad option or a missing setting: one line, exit 1. */
function fail(message: string): never {
  process.stderr.write(`build-deb: ${message}\n`);
  process.exit(1);
}
const dist = join(root, 'dist');
const PACKAGE = 'x2go-sessiondb';
/** The node the package runs: Debian's and NodeSource's nodejs both install it here. */
const NODE = '/usr/bin/node';
/** As dch finds it: DEBFULLNAME and DEBEMAIL, else git's user (who builds it maintains it). */
function maintainer(): string {
  const git = (key: string): string => {
    try {
      return execFileSync('git', ['config', key], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const name = process.env.DEBFULLNAME || git('user.name');
  const email = process.env.DEBEMAIL || git('user.email');
  if (!name || !email)
    throw new Error('build-deb: set DEBFULLNAME and DEBEMAIL (or git config user.name and user.email): the Maintainer field');
  return `${name} <${email}>`;
}
const MAINTAINER = maintainer();

let values: { version?: string | undefined; out?: string | undefined } = {};
try {
  values = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string' } }, strict: true }).values;
} catch (err) {
  fail(`${(err as Error).message}; usage: build-deb.ts [--version V] [--out DIR]`);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const version = values.version ?? pkg.version;
if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) fail(`--version ${version}: a native Debian version (digits first, no '-')`);
if (!existsSync(join(dist, 'x2godb.cjs'))) fail('dist/ is not built: run npm run deb (it builds first)');
const out = values.out ?? join(root, 'build');
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const stage = join(out, `${PACKAGE}_${version}_${arch}`);
const deb = `${stage}.deb`;

process.umask(0o022);
rmSync(stage, { recursive: true, force: true });
const at = (path: string): string => join(stage, path);
function dir(path: string): string {
  mkdirSync(at(path), { recursive: true, mode: 0o755 });
  return at(path);
}
function file(path: string, content: string | Buffer, mode = 0o644): void {
  dir(dirname(path));
  writeFileSync(at(path), content);
  chmodSync(at(path), mode);
}
/** A relative link, as Debian policy wants within one top-level directory. */
function link(path: string, target: string): void {
  dir(dirname(path));
  symlinkSync(relative(dirname(path), target), at(path));
}

// The programs: what `install` copies, less the sources it compiles (done here) and the code
// cache (it must come from the installed node: the postinst trains it).
const prefix = dir(DEFAULT_PREFIX);
// The main bundle too: like every bundle it starts with #! (lintian wants such a file executable).
const EXECUTABLES = new Set([
  'x2godb.cjs',
  'x2godb-main.cjs',
  'x2godbadmin.cjs',
  'x2go-sessiondb.cjs',
  'x2gosessiond.cjs',
  'x2gosessiond-runas.cjs',
]);
for (const name of FILES.filter((f) => !f.endsWith('.c'))) {
  copyFileSync(join(dist, name), join(prefix, name));
  chmodSync(join(prefix, name), EXECUTABLES.has(name) ? 0o755 : 0o644);
}
const launcher = join(prefix, 'x2godb-launcher');
compileLauncher(join(dist, 'x2godb-launcher.c'), launcher, {
  node: NODE,
  entry: join(DEFAULT_PREFIX, 'x2godb.cjs'),
  configDir: DEFAULT_CONFIG_DIR,
  socket: DEFAULT_SOCKET,
});
chmodSync(launcher, 0o755);
compilePeerCredAddon(join(dist, 'peercred.c'), join(prefix, 'peercred.node'), NODE);
for (const object of [launcher, join(prefix, 'peercred.node'), join(prefix, 'better_sqlite3.node')]) {
  execFileSync('strip', ['--remove-section=.comment', '--remove-section=.note', '--strip-unneeded', object]);
  chmodSync(object, object === launcher ? 0o755 : 0o644);
}
linkEntries(prefix);
link('/usr/bin/x2godb', join(DEFAULT_PREFIX, 'bin', 'x2godb'));
link('/usr/sbin/x2go-sessiondb', join(DEFAULT_PREFIX, 'bin', 'x2go-sessiondb'));
link('/usr/sbin/x2gosessiond', join(DEFAULT_PREFIX, 'bin', 'x2gosessiond'));

file(
  join('/lib/systemd/system', UNIT_NAME),
  unitText({ node: NODE, prefix: DEFAULT_PREFIX, configDir: DEFAULT_CONFIG_DIR, socket: DEFAULT_SOCKET }),
);
// The root helper beside it: the one thing the service may not do itself (README, "Least privilege").
file(
  join('/lib/systemd/system', RUNAS_UNIT_NAME),
  runasUnitText({ node: NODE, prefix: DEFAULT_PREFIX, configDir: DEFAULT_CONFIG_DIR, socket: DEFAULT_SOCKET }),
);

// Man pages: Markdown (man/) converted by pandoc; lintian reads them with man --warnings.
for (const page of MAN_PAGES) {
  const roff = execFileSync(
    'pandoc',
    [
      '--standalone',
      '--from',
      'markdown',
      '--to',
      'man',
      '--metadata',
      `footer=${PACKAGE} ${version}`,
      join(root, 'man', `${page.file}.md`),
    ],
    { encoding: 'utf8' },
  );
  file(`/usr/share/man/man${page.section}/${page.name}.${page.section}.gz`, gzipSync(roff, { level: 9 }));
}

const docs = `/usr/share/doc/${PACKAGE}`;
file(`${docs}/README.Debian`, readFileSync(join(root, 'packaging/deb/README.Debian')));
file(`${docs}/copyright`, readFileSync(join(root, 'packaging/deb/copyright')));
const date = execFileSync('date', ['-R', '-u'], { encoding: 'utf8' }).trim();
file(
  `${docs}/changelog.gz`,
  gzipSync(
    `${PACKAGE} (${version}) unstable; urgency=medium\n\n  * Built from the x2go-sessiondb repository; see its git log.\n\n -- ${MAINTAINER}  ${date}\n`,
    { level: 9 },
  ),
);

// Control: Depends from dpkg-shlibdeps for the compiled objects, then what the programs need.
const shlibs = join(out, 'shlibs');
rmSync(shlibs, { recursive: true, force: true });
mkdirSync(join(shlibs, 'debian'), { recursive: true });
writeFileSync(join(shlibs, 'debian', 'control'), `Source: ${PACKAGE}\n\nPackage: ${PACKAGE}\nArchitecture: any\n`);
const shlibsLine = execFileSync(
  'dpkg-shlibdeps',
  ['-O', '--warnings=0', `-e${launcher}`, `-e${join(prefix, 'peercred.node')}`, `-e${join(prefix, 'better_sqlite3.node')}`],
  { cwd: shlibs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
);
rmSync(shlibs, { recursive: true, force: true });
const libs = /^shlibs:Depends=(.*)$/m.exec(shlibsLine)?.[1]?.trim() ?? '';
// better_sqlite3.node is built for this node's ABI (NODE_MODULE_VERSION): the same major only.
const major = Number(process.versions.node.split('.')[0]);
const known = KNOWN_UPSTREAM.map((v) => [`(>= ${v})`, `(<< ${v}.1~)`]);
const depends = [
  ...(libs ? [libs] : []),
  `nodejs (>= ${major}), nodejs (<< ${major + 1})`,
  ...REFERENCE_PACKAGES.flatMap((p) => known.map(([low, high]) => `${p} ${low}, ${p} ${high}`)),
].join(', ');
const installedSize = Math.ceil(
  readdirSync(stage, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0) / 1024,
);
const control = `Package: ${PACKAGE}
Version: ${version}
Architecture: ${arch}
Maintainer: ${MAINTAINER}
Installed-Size: ${installedSize}
Depends: ${depends}
Section: admin
Priority: optional
Description: X2Go session database in TypeScript, in place of x2goserver's
 The session database of an X2Go server (SQLite and PostgreSQL), drop-in
 compatible with x2goserver 4.1.0.3.
 .
 Installing it diverts x2goserver's database programs, X2Go::Server::DB and
 x2gostartagent into a directory only root may enter and puts its own in their
 place: user sessions are kept apart, every argument is validated, logins
 reserve their display and ports atomically, and the resident service
 x2gosessiond answers the helpers' calls in about 2 ms. Removing it gives
 x2goserver its files back; the database stays.
`;
const meta = dir('/DEBIAN');
writeFileSync(join(meta, 'control'), control);
for (const script of ['preinst', 'postinst', 'prerm', 'postrm']) {
  copyFileSync(join(root, 'packaging/deb', script), join(meta, script));
  chmodSync(join(meta, script), 0o755);
}
copyFileSync(join(root, 'packaging/deb/triggers'), join(meta, 'triggers'));
const md5sums = readdirSync(stage, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && !e.parentPath.startsWith(meta))
  .map((e) => join(e.parentPath, e.name))
  .sort()
  .map((p) => `${createHash('md5').update(readFileSync(p)).digest('hex')}  ${relative(stage, p)}\n`)
  .join('');
writeFileSync(join(meta, 'md5sums'), md5sums);
for (const f of ['control', 'triggers', 'md5sums']) chmodSync(join(meta, f), 0o644);

execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'] });
rmSync(stage, { recursive: true, force: true });
process.stdout.write(`${deb}\n`);
