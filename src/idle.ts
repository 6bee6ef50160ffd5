// The one deliberate fast path (README → Performance): a timer tick with nothing to do decides so
// with a minimal read-only look, before commander, the full bundle, the SQLite addon or the pass
// lock are loaded. bin/pos-sync runs it first (from its own small bundle, dist/src/cli/idle.cjs);
// when any look below is unsure, it answers null and the full CLI runs the pass as always, so
// what a user sees never depends on which path ran.
//
// The fast path answers two ticks, and only where the full pass would have done exactly the same:
// - idle: "nothing pending", where the full pass would have written nothing but its trace;
// - refused: an open circuit breaker whose next probe is not yet due, where the full pass sends
//   nothing and touches neither the database nor the lock. Its result, its state-file decision and
//   its warning line come from the functions the full pass uses (pass/refused.ts,
//   commands/sync-lines.ts, cli/command-log.ts).
// It accepts the plain `[global options] sync` the timer runs, with output off a terminal, and
// stands aside for everything else.
//
// What each tick must see is a list, in one place: LOOKS for the idle tick, REFUSED_LOOKS for the
// refused one. A feature that gives such a tick something to do (a quarantined row due, a
// heartbeat due…) adds one entry: a pure function of the facts below, or one cheap read-only SQL
// query on `facts.db` (idle looks only); returning a reason hands the tick to the full pass. Keep
// each look to a read: these ticks are benchmarked against `node -e 0`.

import { fstatSync, statSync, writeSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { checkTlsFiles } from './central/tls-files.js';
import { commandLogContext, commandLogger } from './cli/command-log.js';
import { noPaint } from './cli/render.js';
import { processStdio } from './cli/stdio.js';
import { breakerOpenWarning } from './commands/sync-lines.js';
import { loadConfig, refuseWithoutReadableToken, type LoadedConfig } from './config/load.js';
import type { GlobalFlags } from './config/resolve.js';
import { secretValues } from './config/secrets.js';
import type { Config } from './config/types.js';
import { admit } from './domain/breaker.js';
import { heartbeatMayBeDue, NO_HEARTBEAT } from './domain/heartbeat.js';
import { systemClock } from './domain/time.js';
import { refusedPass } from './pass/refused.js';
import { saveRefreshMs } from './pass/saved.js';
import { touchPassTrace } from './pass/trace.js';
import { databaseIdentity, openStateFile, peekState } from './state/file.js';
import type { SavedState } from './state/format.js';
import { lockPathFor } from './state/lock.js';
import { serviceIdentity } from './state/run-as.js';
import { NEEDED, SCHEMA_VERSION } from './store/migrations.js';

/** What the looks see. */
export interface IdleFacts {
  readonly config: Config;
  readonly loaded: LoadedConfig;
  readonly state: SavedState;
  /**
   * The POS database, opened read-only (node:sqlite) on first use, with pos-sync's tables and
   * indexes checked; looks that need it come last, so a tick the state file decides never opens it.
   */
  db(): DatabaseSync;
  /** Epoch ms, on the pass's clock (domain/time.ts systemClock): the refused tick's start. */
  readonly now: number;
}

/** A look: null when it sees nothing for this tick to do, else why the full pass must run. */
export type Look = (facts: IdleFacts) => string | null;

const TABLES = { transaction: 'PosTransactions', inventory: 'InventoryUpdates' } as const;

// Looks both ticks share: what the full CLI does around any pass, before or after it.
const KAFKA_OFF: readonly [string, Look] = [
  'nothing to publish to Kafka (Kafka off)',
  ({ config, loaded }) => (config.kafka.enabled || loaded.settings.get('Kafka.ProducerConfig')?.source.kind !== 'default' ? 'Kafka is configured' : null),
];
const NO_METRICS_FILE: readonly [string, Look] = ['no metrics file to write after the pass', ({ config }) => (config.metricsFile === null ? null : 'a metrics file is written after every pass')];

/** Everything an idle tick must see, in one place (see the header). */
export const LOOKS: readonly (readonly [string, Look])[] = [
  // Closed: nothing to refuse and no probe due. Failures counted by earlier passes stay as they
  // are: a pass that sends nothing does not change them.
  ['the circuit breaker is closed', ({ state }) => (state.breaker.state === 'closed' ? null : 'the breaker is open or probing')],
  // A heartbeat goes out at most every Sync.HeartbeatSeconds (domain/heartbeat.ts): a pure look at
  // the state file's memory of the last one.
  ['no heartbeat due (Sync.HeartbeatSeconds)', ({ config, state, now }) =>
    heartbeatMayBeDue(state.heartbeat ?? NO_HEARTBEAT, state.lastPass?.since ?? null, now, config.heartbeatSeconds * 1000) ? 'a heartbeat may be due' : null],
  KAFKA_OFF,
  NO_METRICS_FILE,
  ['the last pass was an idle success, recent enough that the full pass would not rewrite the state file', ({ config, state, now }) => {
    const p = state.lastPass;
    if (p === null || state.lastSuccessAt === null || (state.notAboutRows ?? null) !== null) return 'no idle success on record';
    if (p.exitCode !== 0 || p.outcome !== 'drained' || p.delivered !== 0 || p.refused !== 0 || p.error !== null || (p.kafkaError ?? null) !== null) return 'the last pass was not idle';
    return now >= p.at && now - p.at < saveRefreshMs(config) ? null : 'the state file is due a refresh';
  }],
  ['nothing pending (no row with Synced = 0 in an enabled entity; refused, waiting and dead-lettered rows included)', ({ config, db }) => {
    const conn = db();
    for (const [entity, table] of Object.entries(TABLES)) {
      if (!(entity === 'transaction' ? config.sync.transactions : config.sync.inventory)) continue;
      // The partial index on Synced = 0 (store/migrations.ts) answers this without a table scan.
      if (conn.prepare(`SELECT 1 FROM "${table}" WHERE "Synced" = 0 LIMIT 1`).get() !== undefined) return `${table} has rows to look at`;
    }
    return null;
  }],
  // A quarantined row, a refused row waiting out its backoff and a dead letter are all Synced = 0:
  // the look above hands each of those ticks to the full pass, which knows when each is due.
];

/**
 * Everything a tick refused by an open breaker must see (see the header). The database is never
 * opened: the full pass does not open it either. No heartbeat look: the full pass sends none
 * through an open breaker (heartbeat/send.ts). No lock look: the full pass's refusal does not
 * take the lock (pass/refused.ts reads the state file again just before replacing it instead).
 */
export const REFUSED_LOOKS: readonly (readonly [string, Look])[] = [
  ['the circuit breaker refuses this pass (open, its next probe not yet due)', ({ config, state, now }) =>
    admit(state.breaker, now, config.breaker, false).kind === 'refuse' ? null : 'the breaker is closed, or a probe is due'],
  KAFKA_OFF,
  NO_METRICS_FILE,
  // Root on a database that is not root's: the full pass becomes the service user before it writes
  // the state file (state/run-as.ts), and says so. Root on its own database stays root there too.
  // With no passwd entries it answers null exactly where the full pass stays root, and otherwise a
  // user or an error: either way not this tick's to answer (nor /etc/passwd's to be read for it).
  ['not to run as another user', ({ config }) => {
    if (process.geteuid?.() !== 0) return null;
    try {
      return serviceIdentity(0, config.db.path, config.stateFile, [], []) === null ? null : 'root runs the pass as the service user';
    } catch {
      return 'root finds no service user';
    }
  }],
];

/** The global options a timer's tick may carry (each with its value); anything else: the full CLI. */
const VALUE_OPTIONS: Readonly<Record<string, keyof GlobalFlags>> = {
  '-c': 'config',
  '--config': 'config',
  '--db': 'db',
  '--state-file': 'stateFile',
  '--store-id': 'storeId',
  '--central-url': 'centralUrl',
};

/** The flags of a plain `[global options] sync`, or null for any other command line. */
export function plainSync(argv: readonly string[]): GlobalFlags | null {
  if (argv.length === 0 || argv[argv.length - 1] !== 'sync') return null;
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length - 1; i += 2) {
    const key = VALUE_OPTIONS[argv[i]!];
    const value = argv[i + 1];
    if (key === undefined || value === undefined || value === 'sync' || value.startsWith('-') || key in flags) return null;
    flags[key] = value;
  }
  return flags as GlobalFlags;
}

/**
 * A terminal gets colour and a spinner from the full CLI. A character device other than /dev/null
 * counts as one (node:tty's isatty would load net and stream, ~2 MiB, for the answer).
 */
function isTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isCharacterDevice() && st.rdev !== statSync('/dev/null').rdev;
  } catch {
    return true;
  }
}

export interface IdleIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/**
 * The fast path: exit code 0 after printing the idle line and leaving the trace, 75 after an open
 * breaker's refusal, or null when the full CLI must run (anything unsure, any error: the full pass
 * reports it as it always does).
 */
export async function idleTick(io: IdleIo, started = monotonicMs()): Promise<number | null> {
  const flags = plainSync(io.argv);
  if (flags === null || isTerminal(1) || isTerminal(2) || io.env['FORCE_COLOR'] !== undefined) return null;
  let db: DatabaseSync | undefined;
  try {
    const loaded = await loadConfig({ flags, env: io.env, cwd: io.cwd });
    const { config } = loaded;
    if (loaded.warnings.length > 0 || config.detailedLogging) return null;
    // What `sync` checks before any pass (commands/sync.ts): each throws, and the full CLI says it.
    if (config.http.token === null) refuseWithoutReadableToken(loaded.file, 'sync');
    if (config.http.caFile !== null || config.http.clientCertFile !== null || config.http.clientKeyFile !== null) checkTlsFiles(config.http);
    // A state file written for another database is the full pass's error (78), never a fact here.
    const peeked = peekState(config.stateFile, databaseIdentity(config.db.path));
    if (!peeked.found || peeked.problem !== null) return null;
    if (!statSync(config.db.path).isFile()) return null;
    const open = (): DatabaseSync => {
      if (db !== undefined) return db;
      const { DatabaseSync } = sqlite();
      db = new DatabaseSync(config.db.path, { readOnly: true, timeout: Math.min(config.db.busyTimeoutMs, 1000) });
      // The full pass would change the journal mode or set up what is missing (a POS rebuild): not idle.
      if (String((db.prepare('PRAGMA journal_mode').get() as { journal_mode?: unknown } | undefined)?.journal_mode).toLowerCase() !== 'wal') throw new NotIdle();
      const present = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE name IN (${NEEDED.map(() => '?').join(', ')})`).all(...NEEDED).map((r) => (r as { name: string }).name));
      if (present.size !== NEEDED.length) throw new NotIdle();
      const version = Number((db.prepare(`SELECT "Value" AS v FROM "PosSync_Schema" WHERE "Key" = 'Version'`).get() as { v?: unknown } | undefined)?.v);
      if (version !== SCHEMA_VERSION) throw new NotIdle();
      return db;
    };
    const facts: IdleFacts = { config, loaded, state: peeked.state, db: open, now: systemClock.now() };
    if (REFUSED_LOOKS.every(([, look]) => look(facts) === null)) return refusedTick(facts);
    for (const [, look] of LOOKS) if (look(facts) !== null) return null;
    // Another pass holds the lock (a drain finishing, a Kafka publish): the full pass says so (75).
    if (lockHeld(config.db.path)) return null;
    // The trace every pass leaves, idle ones included (pos-sync(1) FILES): the state file's
    // modification time, for status and health to read; never through a link (pass/trace.ts).
    touchPassTrace(config.stateFile, Date.now());
    const ms = monotonicMs() - started;
    write(`nothing pending (${ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`})\n`);
    return 0;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/**
 * An open breaker's tick, as the full CLI runs it off a terminal (commands/sync.ts, pass/pass.ts
 * runSync): the refusal and its state-file decision, the trace, then the one warning line on
 * stderr — no line on stdout, no closing line — and exit 75.
 */
function refusedTick(facts: IdleFacts): number {
  const { config, state, now } = facts;
  const admission = admit(state.breaker, now, config.breaker, false);
  if (admission.kind !== 'refuse') throw new NotIdle();
  const log = commandLogger({
    stderr: processStdio().stderr,
    verbose: false,
    quiet: false,
    paint: noPaint,
    secrets: secretValues(config),
    context: { ...commandLogContext('sync'), store: config.storeId },
  });
  const store = openStateFile(config.stateFile, { log, now: () => systemClock.now(), database: databaseIdentity(config.db.path) });
  let result: ReturnType<typeof refusedPass>;
  try {
    result = refusedPass({ config, clock: systemClock, start: now, store, prev: state, nextProbeAt: admission.nextProbeAt, underLock: false });
  } finally {
    touchPassTrace(store.path, systemClock.now());
  }
  log.warn(breakerOpenWarning(result.error ?? '', result));
  return result.exitCode;
}

/** process.hrtime, not the global `performance`, whose getter loads perf_hooks (~10 modules). */
function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1000 + ns / 1e6;
}

/** Thrown by a look's database open when pos-sync's set-up is not in place: the full pass sees to it. */
class NotIdle extends Error {}

/** Whether a pass holds the lock: its EXCLUSIVE transaction makes a read of the lock file busy. */
function lockHeld(dbPath: string): boolean {
  const file = lockPathFor(dbPath);
  try {
    statSync(file);
  } catch {
    return false; // no lock file: no pass has ever run here, so none runs now
  }
  const { DatabaseSync } = sqlite();
  let lock: DatabaseSync | undefined;
  try {
    lock = new DatabaseSync(file, { readOnly: true, timeout: 0 });
    lock.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch {
    return true; // busy, or not readable: the full pass decides
  } finally {
    lock?.close();
  }
}

/**
 * node:sqlite, the platform's own SQLite: the look reads with it instead of the better-sqlite3
 * addon, which costs a tick ~6 MiB of peak RSS more (measured: 49.5 vs 44.9 MiB for the same
 * read-only query, `node -e 0` 43.1). Node 22 (not the packaged 24) still calls it experimental
 * and warns once on load: that one warning is not shown, every other warning goes to the
 * listeners Node had (its printer), as before.
 */
function sqlite(): typeof import('node:sqlite') {
  const before = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
    for (const listener of before) listener(warning);
  });
  return process.getBuiltinModule('node:sqlite');
}

function write(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(1, bytes, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      return; // the reader is gone (EPIPE): the line is not wanted
    }
  }
}
