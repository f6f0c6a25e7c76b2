// Applies a unified diff to a text in memory, strictly (jsdiff's applyPatch without fuzz: every
// hunk's context and removed lines must match exactly, at the line the hunk names or at the
// nearest offset, as patch(1) does). `install` uses it to make the reserving x2gostartagent from
// the reference's script, so that a script this patch was not written for is left alone instead
// of half patched, and so that a server needs no `patch` program.

import { applyPatch as apply, parsePatch, reversePatch, type StructuredPatch } from 'diff';

export type PatchResult = { ok: true; text: string } | { ok: false; why: string };

/** Which hunk is the first that does not fit: applied one more at a time, as applyPatch goes. */
function firstMisfit(text: string, patch: StructuredPatch): string {
  const { hunks } = patch;
  for (let n = 1; n <= hunks.length; n++) {
    if (apply(text, { ...patch, hunks: hunks.slice(0, n) }) === false) {
      return `hunk ${n} of ${hunks.length} (at line ${hunks[n - 1]?.oldStart}) does not match`;
    }
  }
  return 'the patch does not match';
}

/** `reverse`: undo the patch (patch -R), e.g. one applied by hand before `install` did it. */
export function applyPatch(text: string, patchText: string, reverse = false): PatchResult {
  const [parsed] = parsePatch(patchText);
  if (!parsed || parsed.hunks.length === 0) return { ok: false, why: 'the patch has no hunks' };
  const patch = reverse ? reversePatch(parsed) : parsed;
  const patched = apply(text, patch);
  return patched === false ? { ok: false, why: firstMisfit(text, patch) } : { ok: true, text: patched };
}
