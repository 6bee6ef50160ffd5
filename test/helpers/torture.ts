// Shared pieces of the reliability (torture) tests: spawning real passes that may be killed,
// a test config in the seed's appsettings.json shape, snapshots of every row's sync columns, and
// the one delivery check every torture test ends with — each local row in the central exactly
// once after deduplication, and no row marked synced that the central does not have.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import type { RunningCentral } from '../../examples/central/server.js';
import { BIN, cleanEnv } from './cli.js';
import { stateSource } from './db.js';

/** POS_SYNC_SOAK=1 runs the long versions (minutes, not seconds). */
export const SOAK = process.env.POS_SYNC_SOAK === '1';

/** POS_SYNC_TEST_SEED replays a failed run; otherwise each test's fixed default. */
export function testSeed(fallback: number): number {
  const raw = process.env.POS_SYNC_TEST_SEED;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`POS_SYNC_TEST_SEED must be an integer, got "${raw}"`);
  return n;
}

export interface PassRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** The safety limit killed it: a pass that does not end by itself is a failure. */
  readonly timedOut: boolean;
}

export interface StartedPass {
  readonly child: ChildProcess;
  readonly done: Promise<PassRun>;
  kill(): void;
}

/** Every process a test file started, so `after` can end the ones still running. */
export class Processes {
  private readonly live = new Set<ChildProcess>();

  /** Starts `node bin/pos-sync …args` with a clean environment; never rejects. */
  startPass(args: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): StartedPass {
    return this.start(process.execPath, [BIN, ...args], options);
  }

  start(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): StartedPass {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const done = new Promise<PassRun>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
        clearTimeout(timer);
        this.live.delete(child);
        resolve({ code, signal, stdout, stderr: stderr + extra, ms: Date.now() - started, timedOut });
      };
      child.once('error', (err) => finish(null, null, `spawn error: ${err.message}`));
      child.once('close', (code, signal) => finish(code, signal));
    });
    return { child, done, kill: () => child.kill('SIGKILL') };
  }

  /** For `after`: SIGKILL whatever is still running, and wait for it to be gone. */
  async killAll(): Promise<void> {
    const waits = [...this.live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    );
    await Promise.all(waits);
  }
}

export interface Settings {
  readonly Sync?: Record<string, unknown>;
  readonly Database?: Record<string, unknown>;
  readonly Kafka?: Record<string, unknown>;
}

/** Writes `appsettings.json` (the seed's shape) into `dir` and returns its path. */
export function writeSettings(dir: string, settings: Settings, name = 'appsettings.json'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${JSON.stringify({ Logging: { LogLevel: { Default: 'Information' } }, ...settings }, null, 2)}\n`);
  return file;
}

/** The global options every torture pass gets: config, database, central and state file explicit. */
export function passArgs(paths: { config: string; db: string; state: string }, centralUrl: string): string[] {
  return ['--config', paths.config, '--db', paths.db, '--state-file', paths.state, '--central-url', centralUrl];
}

export const ENTITY_TABLES = ['PosTransactions', 'InventoryUpdates'] as const;

/** The columns pos-sync writes, per row: what must not change wrongly. */
export interface SyncColumns {
  readonly table: string;
  readonly Id: unknown;
  readonly Synced: unknown;
  readonly SyncAttempts: unknown;
  readonly SyncRejections: unknown;
  readonly LastSyncAttempt: unknown;
  readonly LastSyncError: unknown;
  readonly SyncedAt: unknown;
  readonly NextAttemptAt: unknown;
  readonly DeadLetteredAt: unknown;
}

function openRead(file: string): Sqlite.Database {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  return db;
}

/** Every row's sync columns, keyed by table and rowid (an Id may be a BLOB written by a buggy POS). */
export function syncSnapshot(file: string): Map<string, SyncColumns> {
  const db = openRead(file);
  try {
    const out = new Map<string, SyncColumns>();
    for (const table of ENTITY_TABLES) {
      const source = stateSource(db, table as 'PosTransactions' | 'InventoryUpdates');
      const columns = db.prepare(`SELECT * FROM ${source}`).columns().map((c) => c.name);
      const wanted = ['Synced', 'SyncAttempts', 'SyncRejections', 'LastSyncAttempt', 'LastSyncError', 'SyncedAt', 'NextAttemptAt', 'DeadLetteredAt'];
      const list = wanted.map((c) => (columns.includes(c) ? `"${c}"` : `NULL AS "${c}"`)).join(', ');
      for (const row of db.prepare(`SELECT rowid AS r, "Id", ${list} FROM ${source} ORDER BY rowid`).all() as (SyncColumns & { r: number })[]) {
        const { r, ...rest } = row;
        out.set(`${table}:${r}`, { ...rest, table });
      }
    }
    return out;
  } finally {
    db.close();
  }
}

/** Business columns with their SQLite types, keyed like syncSnapshot: the POS's data, byte for byte. */
export function businessSnapshot(file: string): Map<string, string> {
  const business: Record<(typeof ENTITY_TABLES)[number], string[]> = {
    PosTransactions: ['Id', 'TransactionId', 'StoreId', 'ProductId', 'TransactionType', 'Quantity', 'UnitPrice', 'TotalAmount', 'TransactionDate', 'CreatedAt', 'Metadata', 'Reference', 'Notes'],
    InventoryUpdates: ['Id', 'StoreId', 'ProductId', 'PreviousStock', 'NewStock', 'UpdateType', 'UpdateDate', 'CreatedAt', 'Reason', 'TransactionId'],
  };
  const db = openRead(file);
  try {
    const out = new Map<string, string>();
    for (const table of ENTITY_TABLES) {
      const list = business[table].map((c) => `quote("${c}") AS "${c}"`).join(', ');
      for (const row of db.prepare(`SELECT rowid AS r, ${list} FROM "${table}" ORDER BY rowid`).all() as Record<string, unknown>[]) {
        const { r, ...rest } = row;
        out.set(`${table}:${String(r)}`, JSON.stringify(rest));
      }
    }
    return out;
  } finally {
    db.close();
  }
}

/** Keys of rows whose sync columns differ between two snapshots. */
export function changedRows(before: ReadonlyMap<string, SyncColumns>, after: ReadonlyMap<string, SyncColumns>): string[] {
  const changed: string[] = [];
  for (const [key, row] of before) {
    if (JSON.stringify(after.get(key)) !== JSON.stringify(row)) changed.push(key);
  }
  for (const key of after.keys()) if (!before.has(key)) changed.push(key);
  return changed;
}

export function integrityCheck(file: string): string {
  const db = openRead(file);
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

export function countPending(file: string): number {
  const db = openRead(file);
  try {
    let n = 0;
    for (const table of ENTITY_TABLES) {
      const source = stateSource(db, table as 'PosTransactions' | 'InventoryUpdates');
      const dead = source.startsWith('"') ? '' : 'AND "DeadLetteredAt" IS NULL';
      n += db.prepare(`SELECT count(*) FROM ${source} WHERE "Synced" = 0 ${dead}`).pluck().get() as number;
    }
    return n;
  } finally {
    db.close();
  }
}

/** Ids of rows marked synced (both tables). */
export function syncedIds(file: string): string[] {
  const db = openRead(file);
  try {
    return ENTITY_TABLES.flatMap((t) => db.prepare(`SELECT "Id" FROM "${t}" WHERE "Synced" = 1`).pluck().all() as string[]);
  } finally {
    db.close();
  }
}

export interface DeliveryReport {
  readonly localRows: number;
  readonly synced: number;
  readonly pending: number;
  readonly deadLettered: number;
  /** Local ids the central does not have. */
  readonly lost: string[];
  /** Local rows marked Synced = 1 whose id the central does not have: a lie to the retailer. */
  readonly syncedNotDelivered: string[];
  /** Ids the central holds that no local row has. */
  readonly unknownInCentral: string[];
  /** Ids received more than once, and the receipts beyond the first. */
  readonly duplicateIds: number;
  readonly duplicateReceipts: number;
  /** Rows refused at least once, or dead-lettered (a temporary fault must never do this). */
  readonly penalised: string[];
}

/** Compares the local database with what the central stored. */
export function deliveryReport(central: RunningCentral, file: string): DeliveryReport {
  const receipts = central.receipts();
  const db = openRead(file);
  try {
    const rows = ENTITY_TABLES.flatMap(
      (t) =>
        db.prepare(`SELECT "Id" AS id, "Synced" AS synced, "DeadLetteredAt" AS dead, "SyncRejections" AS refusals FROM ${stateSource(db, t as 'PosTransactions' | 'InventoryUpdates')}`).all() as {
          id: string;
          synced: number;
          dead: string | null;
          refusals: number;
        }[],
    );
    const local = new Set(rows.map((r) => r.id));
    let duplicateReceipts = 0;
    let duplicateIds = 0;
    for (const n of receipts.values()) {
      if (n > 1) {
        duplicateIds++;
        duplicateReceipts += n - 1;
      }
    }
    return {
      localRows: rows.length,
      synced: rows.filter((r) => r.synced === 1).length,
      pending: rows.filter((r) => r.synced === 0 && r.dead === null).length,
      deadLettered: rows.filter((r) => r.dead !== null).length,
      lost: rows.filter((r) => !receipts.has(r.id)).map((r) => r.id),
      syncedNotDelivered: rows.filter((r) => r.synced === 1 && !receipts.has(r.id)).map((r) => r.id),
      unknownInCentral: [...receipts.keys()].filter((id) => !local.has(id)),
      duplicateIds,
      duplicateReceipts,
      penalised: rows.filter((r) => r.refusals > 0 || r.dead !== null).map((r) => r.id),
    };
  } finally {
    db.close();
  }
}

/** A short line for t.diagnostic and assertion messages. */
export function describeReport(r: DeliveryReport): string {
  return (
    `rows ${r.localRows}: synced ${r.synced}, pending ${r.pending}, dead-lettered ${r.deadLettered}; ` +
    `lost ${r.lost.length}, synced-not-delivered ${r.syncedNotDelivered.length}, unknown-in-central ${r.unknownInCentral.length}; ` +
    `duplicates on the wire: ${r.duplicateReceipts} receipts of ${r.duplicateIds} ids`
  );
}

/** The state file, when present, must be a whole JSON document (atomic replace). */
export function stateFileProblem(file: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : `unreadable: ${(err as Error).message}`;
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc === null || typeof doc !== 'object') return `not a JSON object: ${text.slice(0, 80)}`;
    return null;
  } catch (err) {
    return `not valid JSON (${(err as Error).message}): ${JSON.stringify(text.slice(0, 80))}`;
  }
}

/** Corrupt copies moved aside next to the state file: a torn write would show up here. */
export function corruptStateCopies(stateFile: string): string[] {
  const dir = path.dirname(stateFile);
  const base = path.basename(stateFile);
  return fs.readdirSync(dir).filter((f) => f.startsWith(`${base}.corrupt-`));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
