// The service's log: lines on stderr with the syslog priority as a "<N>" prefix, which the
// journal reads as the line's level (systemd's SyslogLevelPrefix, on by default). The level
// is the reference's: [log] loglevel in x2goserver.conf, from emerg to debug.

import { writeAll } from '../cli/write-out.js';

export const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  log(level: Level, message: string): void;
}

/** Unknown level names log at notice, the reference's default. */
export function levelOf(name: string): number {
  const index = LEVELS.indexOf(name.trim().toLowerCase() as Level);
  return index < 0 ? LEVELS.indexOf('notice') : index;
}

export function stderrLogger(threshold: string): Logger {
  const max = levelOf(threshold);
  return {
    log(level, message) {
      const priority = LEVELS.indexOf(level);
      if (priority > max) return;
      // One line per entry, whatever the message holds.
      writeAll(2, `<${priority}>x2gosessiond: ${message.replace(/[\r\n]+/g, ' ')}\n`);
    },
  };
}
