// The one place where an error becomes a printed line and an exit code (pos-sync(1) LOGGING; pos-sync(1) EXIT STATUS): commands only
// throw; a typed PosSyncError carries its code and hint, SQLite and file-system errors are mapped
// here, anything else is a bug (1).

import { CommanderError } from 'commander';
import { escapeControl } from '../domain/redact.js';
import { ExitCode, PosSyncError } from '../errors.js';
import { scrub } from '../log.js';
import type { Context, GlobalOptions, Io } from './context.js';

/**
 * `health` speaks the Monitoring Plugins protocol even when it cannot run: status UNKNOWN (3) and
 * a status line on stdout, which is what a monitoring system reads.
 */
export function reportHealthError(err: unknown, io: Io, ctx: Context | undefined, globals: GlobalOptions): number {
  if (err instanceof CommanderError && ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) return ExitCode.ok;
  const message = (err instanceof Error ? err.message : String(err)).replace(/^error: /, '');
  const secrets = ctx?.secrets ?? [];
  io.stderr.write(scrub(`pos-sync: ${escapeControl(message)}\n`, secrets));
  const result = { schemaVersion: 1, command: 'health', exitCode: 3, status: 'UNKNOWN', summary: message, checks: [], perfdata: [], durationMs: 0 };
  io.stdout.write(scrub(globals.json ? `${JSON.stringify(result, null, 2)}\n` : `POS-SYNC UNKNOWN - ${escapeControl(message)}\n`, secrets));
  return 3;
}

/** The --json document of a failed command (man/schemas/error.schema.json). */
function errorDocument(command: string | null, error: string, hint: string | null | undefined, exitCode: number): string {
  return `${JSON.stringify({ schemaVersion: 1, command, error, hint: hint ?? null, exitCode }, null, 2)}\n`;
}

export function reportError(err: unknown, io: Io, ctx: Context | undefined, globals: GlobalOptions, command: string | null): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    const message = err.message.replace(/^error: /, '');
    const hint = `see pos-sync ${command ? `${command} ` : ''}--help`;
    io.stderr.write(`${redOnTerminal(`pos-sync: ${message} — ${hint}`, io, globals)}\n`);
    if (globals.json) io.stdout.write(errorDocument(command, message, hint, ExitCode.usage));
    return ExitCode.usage;
  }
  let code: number;
  let message: string;
  let hint: string | undefined;
  if (err instanceof PosSyncError) {
    code = err.exitCode;
    message = err.message;
    hint = err.hint;
  } else if (isSqliteOrFsError(err)) {
    // A database the POS holds locked past the busy timeout: the next tick tries again.
    const busy = /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown }).code));
    code = busy ? ExitCode.tempFail : ExitCode.io;
    message = `${busy ? 'database busy' : 'local I/O error'}: ${(err as Error).message}`;
    hint = busy ? 'the POS holds the database; the next pass tries again' : 'check the database file, its permissions and the free disk space';
  } else {
    code = ExitCode.internal;
    message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    hint = globals.verbose ? 'a bug: please report it with the stack above' : 'a bug: run again with --verbose for the stack and report it';
  }
  // Every failed command ends with one "what failed — what to do" line (pos-sync(1) LOGGING).
  hint ??= defaultHint(code, command);
  // An error can quote what a peer answered (which may echo our Authorization header) or a
  // config value: scrubbed like every other output.
  const secrets = ctx?.secrets ?? [];
  // Escaped: the message may quote a central's answer or a database value.
  const line = `pos-sync: ${escapeControl(`${message}${hint ? ` — ${hint}` : ''}`)}`;
  io.stderr.write(scrub(`${redOnTerminal(line, io, globals)}\n`, secrets));
  if (globals.verbose && err instanceof Error && err.stack) io.stderr.write(scrub(`${err.stack}\n`, secrets));
  if (globals.json) io.stdout.write(scrub(errorDocument(command, message, hint, code), secrets));
  return code;
}

/** What to do, for an error that brought no hint of its own: by its exit code (pos-sync(1) EXIT STATUS). */
function defaultHint(code: number, command: string | null): string {
  switch (code) {
    case ExitCode.usage:
      return `see pos-sync ${command ? `${command} ` : ''}--help`;
    case ExitCode.config:
      return 'fix it; pos-sync config shows every setting and where it came from';
    case ExitCode.io:
      return 'check the path, its permissions and the free disk space';
    case ExitCode.tempFail:
      return 'nothing is lost: the next pass tries again';
    case ExitCode.noPermission:
      return 'check the API token with the central\'s operator';
    default:
      return 'pos-sync --help lists what each exit code means';
  }
}

/** Red on a terminal (pos-sync(1) LOGGING), unless colour is turned off. */
function redOnTerminal(line: string, io: Io, globals: GlobalOptions): string {
  const off = globals.color === false || (io.env['NO_COLOR'] ?? '') !== '';
  return io.stderr.isTTY === true && !off ? `\u001b[31m${line}\u001b[39m` : line;
}

function isSqliteOrFsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_') || ['ENOSPC', 'EACCES', 'EROFS', 'EIO', 'EDQUOT'].includes(code));
}
