// Comparing listings printed by two implementations (or one before and after a switch), where
// the rows' order is the database's heap order and some values depend on the run.

/** A timestamp as the helpers print it. */
export const LISTED_TIME = /\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d/g;

/**
 * Times (matched by `time`) and the age column of session rows (14 or 16 fields) become
 * placeholders; fields lose char(33)'s padding (the reference prints the cookie padded); empty
 * lines go; lines are sorted, since rows of equal status come in heap order, which two
 * databases need not share.
 */
export function normalizeUnordered(stdout: string, time: RegExp = LISTED_TIME): string {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const fields = line
        .replace(time, '<time>')
        .split('|')
        .map((f) => f.trimEnd());
      if (fields.length === 14 || fields.length === 16) fields[12] = '<age>';
      return fields.join('|');
    })
    .sort()
    .join('\n');
}
