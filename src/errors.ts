// Every failure the user can act on is a PosSyncError carrying its exit code (pos-sync(1) EXIT STATUS).
// Only src/cli turns them into a printed line and a process exit code.

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 64,
  rejected: 65,
  io: 74,
  tempFail: 75,
  noPermission: 77,
  config: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Exit-code precedence when several apply: 78, 77, 74, 75, 65, 0 (pos-sync(1) EXIT STATUS). */
const precedence: readonly number[] = [78, 77, 74, 75, 65, 0];

export function worstExitCode(codes: readonly number[]): number {
  let best = 0;
  for (const code of codes) {
    const rank = precedence.indexOf(code);
    const bestRank = precedence.indexOf(best);
    if (rank === -1) return code; // 1 or 64 are never merged with others
    if (rank < bestRank) best = code;
  }
  return best;
}

export class PosSyncError extends Error {
  readonly exitCode: number;
  /** A short hint: what the user can do about it. */
  readonly hint: string | undefined;
  constructor(message: string, exitCode: number, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

export class UsageError extends PosSyncError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.usage, options);
  }
}

export class ConfigError extends PosSyncError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.config, options);
  }
}

export class LocalIoError extends PosSyncError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.io, options);
  }
}

export class TempFailError extends PosSyncError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.tempFail, options);
  }
}

export class CredentialsError extends PosSyncError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, ExitCode.noPermission, options);
  }
}

/**
 * The exit code a thrown value ends the process with (pos-sync(1) EXIT STATUS): a PosSyncError's own; a SQLite or
 * file-system failure is local I/O (74), except a database held locked past the busy timeout,
 * which the next tick retries (75); anything else is a bug (1). The CLI exits with it and a
 * failed pass records it in the state file, so the two never disagree.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof PosSyncError) return err.exitCode;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return ExitCode.internal;
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return ExitCode.tempFail;
  if (code.startsWith('SQLITE_') || ['ENOSPC', 'EACCES', 'EROFS', 'EIO', 'EDQUOT'].includes(code)) return ExitCode.io;
  return ExitCode.internal;
}
