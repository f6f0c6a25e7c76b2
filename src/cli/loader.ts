// The x2godb program as installed: a small loader that compiles the real bundle
// (x2godb-main.cjs, beside it) with V8's code cache (x2godb-main.cjs.cache), then runs it.
// Compiling the bundle is a fifth of what a helper call costs; with the cache V8 skips most of
// it. The cache is written by a training run as x2godb is built or installed, by the node that
// will run it: a cache from another node version, or a missing one, is ignored (V8 compiles).
//
// Through the setgid launcher the files are root's, in a root-owned prefix; the training run
// is refused there (the launcher puts its own marker first, and the groups differ).

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { CODE_CACHE, MAIN_BUNDLE, TRAIN_FLAG } from './code-cache.js';

interface Main {
  run(argv: readonly string[]): void;
  train(configDir?: string): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, MAIN_BUNDLE);
const CACHE = join(here, CODE_CACHE);

function readCache(): Buffer | undefined {
  try {
    return readFileSync(CACHE);
  } catch {
    return undefined;
  }
}

function load(withCache: boolean): { main: Main; script: Script } {
  const source = readFileSync(MAIN, 'utf8').replace(/^#!.*\n/, '');
  const cachedData = withCache ? readCache() : undefined;
  const script = new Script(Module.wrap(source), { filename: MAIN, ...(cachedData ? { cachedData } : {}) });
  const module = new Module(MAIN);
  module.filename = MAIN;
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(MAIN), module, MAIN, here);
  return { main: module.exports as Main, script };
}

async function train(configDir: string | undefined): Promise<void> {
  rmSync(CACHE, { force: true });
  const { main, script } = load(false);
  await main.train(configDir);
  // The cache holds what the training compiled, not only the top level.
  const pending = `${CACHE}.new`;
  writeFileSync(pending, script.createCachedData(), { mode: 0o644 });
  renameSync(pending, CACHE);
  process.stdout.write(`wrote ${CACHE}\n`);
}

if (process.argv[2] === TRAIN_FLAG && process.getegid?.() === process.getgid?.()) {
  train(process.argv[3]).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`x2godb: training the code cache failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
} else {
  load(true).main.run(process.argv.slice(2));
}
