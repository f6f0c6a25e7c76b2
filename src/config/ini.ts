// The subset of Config::Simple's "ini" syntax that X2Go's files use, read the way the reference
// reads them: `[block]` headers, `key=value` lines, '#' or ';' comments, surrounding quotes
// removed. Keys before the first header belong to the block "default", so the top-level
// `backend=sqlite` is `default.backend`, as in Config::Simple. Anything else is a syntax error
// with its line number (Config::Simple fails on it too, silently; we say where).

import { SessionDbError } from '../model/errors.js';

export type IniFile = ReadonlyMap<string, string>;

export function parseIni(text: string, fileName: string): IniFile {
  const values = new Map<string, string>();
  let block = 'default';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      block = header[1] ?? block;
      continue;
    }
    const pair = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!pair) {
      throw new SessionDbError('config', `${fileName}:${i + 1}: expected "key=value" or "[section]"`);
    }
    values.set(`${block}.${pair[1]}`, unquote(pair[2] ?? ''));
  }
  return values;
}

/** Config::Simple strips one pair of double or single quotes around a value. */
function unquote(value: string): string {
  const m = /^"(.*)"$/.exec(value) ?? /^'(.*)'$/.exec(value);
  return m ? (m[1] ?? '') : value;
}
