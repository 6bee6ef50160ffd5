// Real dependencies for calling runSync directly: a Config built through the real resolver from
// an appsettings-shaped object, the real SQLite store and ky client, a seeded random source and
// a sleep that does not wait (retry waits are covered by the withRetries tests with a fake clock).

import path from 'node:path';
import { createCentralClient } from '../../src/central/client.js';
import { runSeed } from '../../src/commands/seed.js';
import type { SyncDeps } from '../../src/pass/pass.js';
import { buildConfig } from '../../src/config/load.js';
import { resolveSettings } from '../../src/config/resolve.js';
import type { Config } from '../../src/config/types.js';
import { seededRandom } from '../../src/domain/sample.js';
import { systemClock, type Clock } from '../../src/domain/time.js';
import type { Fields, Level, Logger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';

/** appsettings.json sections (Sync, Database, Kafka) layered over the defaults. */
export interface Settings {
  readonly Sync?: Record<string, unknown>;
  readonly Database?: Record<string, unknown>;
  readonly Kafka?: Record<string, unknown>;
}

/** A validated Config for `dbPath` and a central at `centralUrl`, as `--db` and `--central-url` give. */
export function testConfig(dbPath: string, centralUrl: string, settings: Settings = {}): Config {
  const dir = path.dirname(dbPath);
  const resolved = resolveSettings({
    file: { path: path.join(dir, 'appsettings.json'), content: settings },
    env: {},
    flags: { db: dbPath, centralUrl },
    cwd: dir,
  });
  return buildConfig(resolved, {}, []);
}

export interface LogLine {
  readonly level: Level;
  readonly message: string;
  readonly fields: Fields;
}

export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: Level) => (message: string, fields: Fields = {}) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function syncDeps(config: Config, overrides: Partial<SyncDeps> & { clock?: Clock } = {}): SyncDeps & { log: ReturnType<typeof memoryLogger> } {
  return {
    config,
    clock: systemClock,
    random: seededRandom(42),
    sleep: async () => {},
    openDb: () =>
      openDatabase({ path: config.db.path, create: config.db.autoCreate, autoMigrate: config.db.autoMigrate, busyTimeoutMs: 5_000 }),
    central: async () =>
      createCentralClient({
        eventsUrl: config.endpoints.events,
        healthUrl: config.endpoints.health,
        storeId: config.storeId,
        token: config.http.token,
        headers: config.http.headers,
      }),
    ...overrides,
    log: memoryLogger(),
  };
}

/** A new database at `file` (its folder must exist) with seeded, unsynced sample rows. */
export function seedDb(file: string, transactions: number, inventory: number, randomSeed = 1, storeId = 'STORE001'): string {
  runSeed(
    // force: tests seed the EF fixture too (seed's refusal of a real POS database has its own tests).
    { transactions, inventory, randomSeed, storeId, force: true },
    { clock: systemClock, dbPath: file, openDb: () => openDatabase({ path: file, create: true, autoMigrate: true, busyTimeoutMs: 5_000 }) },
  );
  return file;
}
