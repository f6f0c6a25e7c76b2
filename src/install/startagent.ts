// The reserving x2gostartagent: `install` diverts the reference's /usr/bin/x2gostartagent into
// the root-only reference directory and puts in its place a copy made from it with
// contrib/x2gostartagent-reserve.patch (pointing at this prefix's x2goreservesession), so
// that logins reserve their display and ports in one atomic step without anyone running
// `patch`. The copy is made from whatever x2goserver installed: after a package upgrade the
// dpkg hook (dpkg-hook.ts) runs `x2go-sessiondb refresh`, which compares the original with
// the checksum recorded here and re-makes the copy, or, when the patch no longer applies,
// gives the reference's script back its place. A script the patch does not apply to is never
// half patched: the reference's stays and `install` says so.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import reservePatch from '../../contrib/x2gostartagent-reserve.patch';
import { applyPatch, type PatchResult } from './apply-patch.js';
import { divertedBy, divertIntoReferenceDir, ensureReferenceDir, exists, PACKAGE, trueName, undivertFromReferenceDir } from './dropin.js';

export const STARTAGENT = '/usr/bin/x2gostartagent';
/** The helper path the patch names; replaced by the installed prefix's. */
const PATCH_DEFAULT_HELPER = '/usr/lib/x2go-sessiondb/helpers/x2goreservesession';
/** A line only the patched copy has: how we know the file at STARTAGENT is ours. */
const MARKER = '# x2go-sessiondb: the display, the ports and the session row in one atomic step';

export function reserveHelper(prefix: string): string {
  return join(prefix, 'helpers', 'x2goreservesession');
}

/** What the patched copy was made from and what it is: `original <sha256>\npatched <sha256>\n`. */
export function stateFile(prefix: string): string {
  return join(prefix, 'x2gostartagent.sha256');
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function md5(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** The md5sum dpkg recorded for `path` of x2goserver (what `dpkg --verify` compares with). */
function packageMd5(path: string): string | undefined {
  try {
    const sums = execFileSync('/usr/bin/dpkg-query', ['--control-show', 'x2goserver', 'md5sums'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return sums
      .split('\n')
      .find((l) => l.endsWith(`  ${path.slice(1)}`))
      ?.split(' ')[0];
  } catch {
    return undefined;
  }
}

/** The reference's script patched to reserve through this prefix's helper. */
export function patchedStartagent(original: string, prefix: string): PatchResult {
  if (!reservePatch.includes(PATCH_DEFAULT_HELPER)) throw new Error(`the patch no longer names ${PATCH_DEFAULT_HELPER}`);
  return applyPatch(original, reservePatch.replace(PATCH_DEFAULT_HELPER, reserveHelper(prefix)));
}

/** The recorded checksums; undefined ones never match a file's. */
function readState(prefix: string): { original: string | undefined; patched: string | undefined } {
  let text = '';
  try {
    text = readFileSync(stateFile(prefix), 'utf8');
  } catch {
    // not recorded: the copy is re-made
  }
  return { original: /^original ([0-9a-f]{64})$/m.exec(text)?.[1], patched: /^patched ([0-9a-f]{64})$/m.exec(text)?.[1] };
}

function readOrUndefined(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function isPatchedCopy(content: Buffer | undefined): boolean {
  return content?.includes(MARKER) ?? false;
}

/** Writes a file root:root 0755 in one rename: a login never runs half a script. */
function placeScript(path: string, text: string): void {
  const pending = `${path}.x2go-sessiondb-new`;
  rmSync(pending, { force: true });
  writeFileSync(pending, text, { mode: 0o700 });
  chownSync(pending, 0, 0);
  chmodSync(pending, 0o755);
  renameSync(pending, path);
}

/** Removes our copy (refusing anything else) and lets dpkg move the reference's back. */
function restoreReference(): void {
  if (exists(STARTAGENT)) {
    if (!isPatchedCopy(readOrUndefined(STARTAGENT)))
      throw new Error(`${STARTAGENT} is neither ours nor the reference's; remove it by hand first`);
    rmSync(STARTAGENT);
  }
  undivertFromReferenceDir(STARTAGENT);
}

/**
 * Puts the reserving x2gostartagent in place, re-makes it when the reference's changed, or
 * gives the reference's back its place when the patch does not apply. `quiet` (the dpkg hook):
 * nothing is said when nothing changed. One line per change.
 */
export function syncStartagent(prefix: string, quiet: boolean): string[] {
  const say = (line: string): string[] => (quiet ? [] : [line]);
  const owner = divertedBy(STARTAGENT);
  if (owner !== undefined && owner !== PACKAGE) return say(`${STARTAGENT}: diverted by ${owner}; left alone (no atomic reservation)`);
  const diverted = owner === PACKAGE;
  const originalPath = diverted ? trueName(STARTAGENT) : STARTAGENT;
  const original = readOrUndefined(originalPath);
  if (!diverted && original !== undefined && isPatchedCopy(original)) {
    // Patched by hand (the README's former step): undone when that gives x2goserver's file back.
    const unpatched = applyPatch(original.toString('utf8'), reservePatch, true);
    if (!unpatched.ok || md5(unpatched.text) !== packageMd5(STARTAGENT)) {
      return say(
        `${STARTAGENT}: patched by hand, and undoing the patch does not give x2goserver's file; left as it is (not kept up to date)`,
      );
    }
    placeScript(STARTAGENT, unpatched.text);
    return [`${STARTAGENT}: undid the patch applied by hand (x2goserver's file again)`, ...syncStartagent(prefix, quiet)];
  }
  if (original === undefined || isPatchedCopy(original)) {
    if (!diverted) return say(`${STARTAGENT}: not there (x2goserver not installed?); nothing to patch`);
    // x2goserver was removed: dpkg took its file away; ours has nothing left to stand for.
    restoreReference();
    rmSync(stateFile(prefix), { force: true });
    return [`${STARTAGENT}: x2goserver's is gone; removed the patched copy and its diversion`];
  }
  const state = readState(prefix);
  const current = diverted ? readOrUndefined(STARTAGENT) : undefined;
  if (diverted && state.original === sha256(original) && current !== undefined && state.patched === sha256(current)) {
    return say(`${STARTAGENT}: already the patched copy of ${originalPath}, reserving through ${reserveHelper(prefix)}`);
  }
  const made = patchedStartagent(original.toString('utf8'), prefix);
  if (!made.ok) {
    if (!diverted)
      return say(
        `${STARTAGENT}: contrib/x2gostartagent-reserve.patch does not apply to this x2gostartagent (${made.why}); the reference's stays in place, without atomic reservation`,
      );
    restoreReference();
    rmSync(stateFile(prefix), { force: true });
    return [
      `${STARTAGENT}: contrib/x2gostartagent-reserve.patch does not apply to the new x2gostartagent (${made.why}); the reference's is back in place, without atomic reservation`,
    ];
  }
  if (diverted && current !== undefined && !isPatchedCopy(current)) {
    throw new Error(`${STARTAGENT} is neither ours nor the reference's; remove it by hand first`);
  }
  let moved = '';
  const repaired: string[] = [];
  if (!diverted) {
    repaired.push(...ensureReferenceDir(prefix));
    moved = `, ${divertIntoReferenceDir(STARTAGENT, prefix)}`;
  }
  placeScript(STARTAGENT, made.text);
  writeFileSync(stateFile(prefix), `original ${sha256(original)}\npatched ${sha256(made.text)}\n`, { mode: 0o644 });
  const why = diverted ? 're-made from the changed' : 'made from';
  return [
    ...repaired,
    `${STARTAGENT}: the patched copy, ${why} ${trueName(STARTAGENT)} (sha256 ${sha256(original).slice(0, 12)}), reserving through ${reserveHelper(prefix)}${moved}`,
  ];
}

/** uninstall: the reference's x2gostartagent back, exactly as dpkg had it. */
export function removeStartagent(prefix: string): string[] {
  if (divertedBy(STARTAGENT) !== PACKAGE) return [`${STARTAGENT}: not diverted by ${PACKAGE}, left alone`];
  restoreReference();
  rmSync(stateFile(prefix), { force: true });
  return [`${STARTAGENT}: the reference's again`];
}

/** status: which x2gostartagent runs; ok is false when our copy is not what the original makes. */
export function startagentStatus(prefix: string): { line: string; ok: boolean } {
  const owner = divertedBy(STARTAGENT);
  if (owner !== undefined && owner !== PACKAGE)
    return { line: `${STARTAGENT}: diverted by ${owner} (not ours; no atomic reservation)`, ok: true };
  if (owner === undefined) {
    const original = readOrUndefined(STARTAGENT);
    if (original === undefined) return { line: `${STARTAGENT}: not there`, ok: true };
    if (isPatchedCopy(original))
      return { line: `${STARTAGENT}: the reference's, patched by hand (not kept up to date by ${PACKAGE})`, ok: true };
    const made = patchedStartagent(original.toString('utf8'), prefix);
    const why = made.ok ? '`x2go-sessiondb install` patches it' : `contrib/x2gostartagent-reserve.patch does not apply to it: ${made.why}`;
    return { line: `${STARTAGENT}: the reference's (display and ports by read, pick, insert, retry; ${why})`, ok: true };
  }
  const originalPath = trueName(STARTAGENT);
  const original = readOrUndefined(originalPath);
  const current = readOrUndefined(STARTAGENT);
  if (!isPatchedCopy(current))
    return {
      line: `${STARTAGENT}: MISSING: diverted to ${originalPath} but our patched copy is not there; run x2go-sessiondb refresh`,
      ok: false,
    };
  const state = readState(prefix);
  const fresh = original !== undefined && current !== undefined && state.original === sha256(original) && state.patched === sha256(current);
  const made = `the patched copy of ${originalPath}${original ? ` (sha256 ${sha256(original).slice(0, 12)})` : ''}, reserving through ${reserveHelper(prefix)}`;
  return fresh
    ? { line: `${STARTAGENT}: ${PACKAGE}'s: ${made}`, ok: true }
    : { line: `${STARTAGENT}: STALE: ${made}, but the original changed since it was made; run x2go-sessiondb refresh`, ok: false };
}
