// The dpkg hook that keeps the reserving x2gostartagent in step with x2goserver: after every
// dpkg run (apt, unattended-upgrades, dpkg -i alike) it runs `x2go-sessiondb refresh`, which
// is silent and takes a few dozen milliseconds when nothing changed (startagent.ts).
//
// Why a dpkg.cfg.d post-invoke hook: without a .deb of our own there is no package to hold a
// file trigger (`interest-noawait /usr/bin/x2gostartagent`) or maintainer scripts; apt's
// DPkg::Post-Invoke would miss a plain `dpkg -i`. dpkg reads /etc/dpkg/dpkg.cfg.d/* on every
// run, and the hook runs after the run's packages are unpacked and configured, so it sees the
// new x2gostartagent. The Debian package has a file trigger instead (packaging/deb/triggers).

import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HOOK_PATH = '/etc/dpkg/dpkg.cfg.d/x2go-sessiondb';

/**
 * The hook's text. Paths come validated (letters, digits, / . _ + -), so no quoting is needed.
 * A prefix that is gone (removed by hand) makes it a no-op; a failed refresh says why on
 * stderr (status then shows it) but does not fail the administrator's dpkg run.
 */
export function hookText(node: string, prefix: string): string {
  const tool = join(prefix, 'x2go-sessiondb.cjs');
  return `# x2go-sessiondb: after each dpkg run, re-make the reserving x2gostartagent from
# x2goserver's (or give x2goserver's back its place when the patch no longer applies).
# Written by \`x2go-sessiondb install\`, removed by \`x2go-sessiondb uninstall\`.
post-invoke=if [ -x ${node} ] && [ -f ${tool} ]; then ${node} ${tool} refresh --prefix ${prefix} || true; fi
`;
}

export function installHook(node: string, prefix: string): string[] {
  const pending = `${HOOK_PATH}.x2go-sessiondb-new`;
  writeFileSync(pending, hookText(node, prefix), { mode: 0o644 });
  renameSync(pending, HOOK_PATH);
  return [`wrote ${HOOK_PATH}: after each dpkg run, x2go-sessiondb refresh keeps x2gostartagent in step with x2goserver`];
}

export function removeHook(): string[] {
  if (!existsSync(HOOK_PATH)) return [];
  rmSync(HOOK_PATH);
  return [`removed ${HOOK_PATH}`];
}
