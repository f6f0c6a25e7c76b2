// Durations in the configuration, as administrators write them: 90 (seconds), 90s, 30m, 12h, 7d.

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, or undefined when the text is not a duration (the caller names the key in its message). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})\s*([smhd]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 1);
}
