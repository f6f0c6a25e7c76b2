// Each program's --help and its man page (man/*.md, converted by pandoc into the Debian package)
// name the same options: an option added to one and not the other fails here. The man page's
// options are those of its SYNOPSIS and OPTIONS sections; --help's are every --word it prints,
// except another program's (x2go-sessiondb's help mentions x2godbadmin --updatedb).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MAN_PAGES } from '../scripts/man-pages.js';
import { DIST, ROOT } from './support/sandbox.js';
import { run } from './support/system.js';

/** --a|b is --a and --b (x2godbadmin's usage writes --adduser|rmuser). */
function options(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)((?:\|[a-z][a-z0-9-]*)*)/g)) {
    found.add(`--${m[1]}`);
    for (const alt of (m[2] ?? '').split('|').filter(Boolean)) found.add(`--${alt}`);
  }
  return [...found].sort();
}

/** The text of the man page's SYNOPSIS and OPTIONS sections, Markdown escapes undone. */
function manOptionsText(markdown: string): string {
  const sections = markdown.split(/^# /m);
  return sections
    .filter((s) => /^(SYNOPSIS|OPTIONS)\n/.test(s))
    .join('\n')
    .replace(/\\-/g, '-')
    .replace(/\*\*/g, '')
    .replace(/\\\|/g, '|');
}

describe('man pages and --help', () => {
  for (const page of MAN_PAGES) {
    test(`${page.name}(${page.section}) names the options of ${page.name} --help, and no others`, () => {
      const help = run(join(DIST, page.help.program), page.help.args);
      assert.equal(help.code, 0, help.stderr);
      const fromHelp = options(help.stdout.replace(/ x2godbadmin --[a-z-]+/g, ''));
      const markdown = readFileSync(join(ROOT, 'man', `${page.file}.md`), 'utf8');
      const fromMan = options(manOptionsText(markdown));
      assert.ok(fromHelp.includes('--help'), `${page.name} --help mentions --help`);
      assert.deepEqual(fromMan, fromHelp);
      assert.match(markdown, /^# EXIT STATUS$/m);
      assert.match(markdown, /^# EXAMPLES$/m);
    });
  }
});
