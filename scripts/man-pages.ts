// The man pages the package ships: their Markdown source in man/, their section, and how to
// get the `--help` of the program each describes (test/man-pages.test.ts compares the two).
// One list, read by scripts/build-deb.ts and the test.

export interface ManPage {
  /** The program, and the page's name. */
  name: string;
  section: 1 | 8;
  /** man/<file>.md */
  file: string;
  /** The built program (under dist/) and the arguments that print its usage. */
  help: { program: string; args: string[] };
}

export const MAN_PAGES: readonly ManPage[] = [
  { name: 'x2godb', section: 1, file: 'x2godb.1', help: { program: 'x2godb.cjs', args: ['--help'] } },
  { name: 'x2godbadmin', section: 8, file: 'x2godbadmin.8', help: { program: 'x2godbadmin.cjs', args: ['--help'] } },
  { name: 'x2go-sessiondb', section: 8, file: 'x2go-sessiondb.8', help: { program: 'x2go-sessiondb.cjs', args: ['--help'] } },
  { name: 'x2gosessiond', section: 8, file: 'x2gosessiond.8', help: { program: 'x2gosessiond.cjs', args: ['--help'] } },
  {
    name: 'x2goreservesession',
    section: 8,
    file: 'x2goreservesession.8',
    help: { program: 'helpers/x2goreservesession', args: ['--help'] },
  },
];
