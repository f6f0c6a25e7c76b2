// Applies a unified diff to a text in memory, strictly: every hunk's context and removed lines
// must match exactly (no fuzz), at the line the hunk names or at the nearest offset. `install`
// uses it to make the reserving x2gostartagent from the reference's script, so that a script
// this patch was not written for is left alone instead of half patched, and so that a server
// needs no `patch` program.

export type PatchResult = { ok: true; text: string } | { ok: false; why: string };

interface Hunk {
  /** 0-based line where the hunk says its old lines start. */
  at: number;
  old: string[];
  new: string[];
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

/** Hunks by their headers' line counts, so a blank context line is read as one. */
function parseHunks(patch: string): Hunk[] {
  const hunks: Hunk[] = [];
  const lines = patch.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = HUNK_HEADER.exec(lines[i] ?? '');
    if (!header) continue;
    const hunk: Hunk = { at: Math.max(0, Number(header[1]) - 1), old: [], new: [] };
    let oldLeft = Number(header[2] ?? 1);
    let newLeft = Number(header[3] ?? 1);
    while (oldLeft > 0 || newLeft > 0) {
      i++;
      if (i >= lines.length) throw new Error(`hunk ${hunks.length + 1} ends early`);
      const line = lines[i] ?? '';
      const [kind, body] = [line.slice(0, 1), line.slice(1)];
      if (kind === ' ' || line === '') {
        hunk.old.push(body);
        hunk.new.push(body);
        oldLeft--;
        newLeft--;
      } else if (kind === '-') {
        hunk.old.push(body);
        oldLeft--;
      } else if (kind === '+') {
        hunk.new.push(body);
        newLeft--;
      } else {
        throw new Error(`hunk ${hunks.length + 1}: unexpected line ${JSON.stringify(line.slice(0, 40))}`);
      }
    }
    hunks.push(hunk);
  }
  return hunks;
}

function matchesAt(lines: readonly string[], at: number, old: readonly string[]): boolean {
  if (at < 0 || at + old.length > lines.length) return false;
  return old.every((line, i) => lines[at + i] === line);
}

/** The match nearest to the hunk's own line, searching both ways (as patch(1) does, without fuzz). */
function locate(lines: readonly string[], hunk: Hunk, from: number): number | undefined {
  for (let offset = 0; offset <= lines.length; offset++) {
    for (const at of offset === 0 ? [hunk.at] : [hunk.at - offset, hunk.at + offset]) {
      if (at >= from && matchesAt(lines, at, hunk.old)) return at;
    }
  }
  return undefined;
}

/** `reverse`: undo the patch (patch -R), e.g. one applied by hand before `install` did it. */
export function applyPatch(text: string, patch: string, reverse = false): PatchResult {
  const hunks = parseHunks(patch).map((h) => (reverse ? { at: h.at, old: h.new, new: h.old } : h));
  if (hunks.length === 0) return { ok: false, why: 'the patch has no hunks' };
  let lines = text.split('\n');
  // Hunks are applied top down; each one's line numbers moved by what the ones above added.
  let shift = 0;
  let from = 0;
  for (const [i, hunk] of hunks.entries()) {
    const at = locate(lines, { ...hunk, at: hunk.at + shift }, from);
    if (at === undefined) return { ok: false, why: `hunk ${i + 1} of ${hunks.length} (at line ${hunk.at + 1}) does not match` };
    lines = [...lines.slice(0, at), ...hunk.new, ...lines.slice(at + hunk.old.length)];
    shift += hunk.new.length - hunk.old.length;
    from = at + hunk.new.length;
  }
  return { ok: true, text: lines.join('\n') };
}
