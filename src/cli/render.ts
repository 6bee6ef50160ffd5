// What every command's human output shares (stdout): the paint (colours, or none) and the ways a
// duration and an age are written. Each command renders its own result in its module
// (src/commands/<name>.ts); JSON output is the result object itself.

export interface Paint {
  ok(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export const noPaint: Paint = { ok: (t) => t, warn: (t) => t, bad: (t) => t, dim: (t) => t, bold: (t) => t };

/** A duration: milliseconds below a second, then seconds with one decimal. */
export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** An age in the largest unit that keeps it readable; '-' for none. */
export function age(totalSeconds: number | null): string {
  if (totalSeconds === null) return '-';
  if (totalSeconds < 120) return `${totalSeconds} s`;
  if (totalSeconds < 7200) return `${Math.round(totalSeconds / 60)} min`;
  if (totalSeconds < 172800) return `${(totalSeconds / 3600).toFixed(1)} h`;
  return `${(totalSeconds / 86400).toFixed(1)} d`;
}
