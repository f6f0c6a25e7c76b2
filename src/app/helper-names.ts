// The helper names, once: the reference's (the files a drop-in install takes over) and ours.
// helpers.ts defines exactly these (the compiler checks it), scripts/build.mjs links each one in
// dist/helpers/, and the installer links each one to the setgid launcher. A file of its own, with
// no imports, so that the build and the installer can read it without the command code.

/** The reference's own helper names: the files a drop-in install takes over. */
export const REFERENCE_HELPERS = [
  'x2goinsertsession',
  'x2goinsertshadowsession',
  'x2goinsertport',
  'x2gocreatesession',
  'x2gocreateshadowsession',
  'x2gochangestatus',
  'x2gormport',
  'x2gogetagent',
  'x2gogetstatus',
  'x2gogetdisplays',
  'x2gogetports',
  'x2gogetservers',
  'x2goresume',
  'x2golistsessions_sql',
] as const;

/** Ours: x2gostartagent's display and port loops in one step (contrib/x2gostartagent-reserve.patch). */
export const OUR_HELPERS = ['x2goreservesession'] as const;

export const HELPER_NAMES: readonly HelperName[] = [...REFERENCE_HELPERS, ...OUR_HELPERS];

/**
 * The reference's Perl programs of /usr/bin that we answer ourselves (listing-programs.ts): they
 * also read the agent's state files, which the caller's side reads, and run programs as the caller.
 */
export const LISTING_PROGRAMS = ['x2golistsessions', 'x2golistshadowsessions'] as const;
export type ListingProgram = (typeof LISTING_PROGRAMS)[number];

export function isListingProgram(name: string): name is ListingProgram {
  return (LISTING_PROGRAMS as readonly string[]).includes(name);
}

/** Every name the launcher answers to besides the wrapper's: the build and the installer link each. */
export const PROGRAM_NAMES: readonly string[] = [...HELPER_NAMES, ...LISTING_PROGRAMS];

export type HelperName = (typeof REFERENCE_HELPERS)[number] | (typeof OUR_HELPERS)[number];
