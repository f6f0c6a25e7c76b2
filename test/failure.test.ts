// The one failure handler of every program (src/app/failure.ts): one line on stderr, and the
// exit code the error's kind gives, whichever program reports it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { test } from 'node:test';
import { failure } from '../src/app/failure.js';
import { SessionDbError } from '../src/model/errors.js';

function caught(work: () => unknown): unknown {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

test('each kind of error: one line, its exit code', () => {
  const cases: [unknown, string, number][] = [
    [new SessionDbError('invalid', 'bad display'), 'p: bad display\n', 2],
    [new SessionDbError('denied', 'root only'), 'p: root only\n', 3],
    [new SessionDbError('config', 'no such file\nsecond line'), 'p: no such file\n', 4],
    [new SessionDbError('conflict', 'taken'), 'p: taken\n', 1],
    [caught(() => readFileSync('/nonexistent/x')), "p: ENOENT: no such file or directory, open '/nonexistent/x'\n", 1],
    [new TypeError('boom\n    at somewhere'), 'p: internal error: boom\n', 1],
    ['a string', 'p: internal error: a string\n', 1],
  ];
  for (const [err, stderr, exitCode] of cases) assert.deepEqual(failure('p', err), { stderr, exitCode }, String(err));
  const usage = failure(
    'p',
    caught(() => parseArgs({ args: ['--nope'], options: {} })),
  );
  assert.equal(usage.exitCode, 2);
  assert.match(usage.stderr, /^p: Unknown option '--nope'[^\n]*; see p --help\n$/);
});

test("a failed child command: its message and the first line it printed; the program's usage errors exit 2", () => {
  const err = caught(() => execFileSync('sh', ['-c', 'echo "went wrong" >&2; echo more >&2; exit 3'], { stdio: 'pipe' }));
  assert.deepEqual(failure('p', err), {
    stderr: `p: Command failed: sh -c echo "went wrong" >&2; echo more >&2; exit 3: went wrong\n`,
    exitCode: 1,
  });
  class UsageError extends Error {}
  assert.deepEqual(
    failure('p', new UsageError('unknown command x'), (e) => e instanceof UsageError),
    { stderr: 'p: unknown command x\n', exitCode: 2 },
  );
});
