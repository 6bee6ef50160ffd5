// `pos-sync requeue`: dead letters back to pending (DeadLetteredAt, NextAttemptAt cleared,
// SyncRejections 0, SyncAttempts kept), with --all or --id; unknown ids are reported (64);
// neither, or both, is a usage error (64) that changes nothing. Then a pass delivers them.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { lines, runCli } from './helpers/cli.js';
import { exec, pendingIds, query, withState, setState } from './helpers/db.js';
import { formatDbTime as efTime } from '../src/domain/time.js';
import { holdLock } from './helpers/lock.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('requeue');
let central: RunningCentral;
before(async () => {
  central = await startCentral({ seed: 13 });
});
after(async () => {
  await central?.close();
  tmp.cleanup();
});

interface Row {
  Id: string;
  Synced: number;
  SyncAttempts: number;
  SyncRejections: number;
  NextAttemptAt: string | null;
  DeadLetteredAt: string | null;
}

function rows(db: string): Row[] {
  return query<Row>(
    db,
    `SELECT "Id", "Synced", "SyncAttempts", "SyncRejections", "NextAttemptAt", "DeadLetteredAt" FROM ${withState('PosTransactions')}
     UNION ALL SELECT "Id", "Synced", "SyncAttempts", "SyncRejections", "NextAttemptAt", "DeadLetteredAt" FROM ${withState('InventoryUpdates')} ORDER BY "Id"`,
  );
}

/** A store with 3 transactions and 2 inventory updates; the first two of each dead-lettered, one more still waiting. */
function arrange(): { dir: string; db: string; dead: string[]; waiting: string; run(...args: string[]): ReturnType<typeof runCli> } {
  const dir = tmp.make();
  const db = seedDb(path.join(dir, 'POS_Local.db'), 3, 2, 8);
  const tx = query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions" ORDER BY rowid`).map((r) => r.Id);
  const inv = query<{ Id: string }>(db, `SELECT "Id" FROM "InventoryUpdates" ORDER BY rowid`).map((r) => r.Id);
  const when = efTime(Date.now() - 3_600_000);
  const dead = [tx[0]!, tx[1]!, inv[0]!];
  for (const [table, id] of [['PosTransactions', tx[0]], ['PosTransactions', tx[1]], ['InventoryUpdates', inv[0]]] as const) {
    exec(db, `UPDATE "${table}" SET "SyncAttempts" = 5, "LastSyncError" = 'HTTP 422: bad' WHERE "Id" = ?`, id);
    setState(db, table, id!, { rejections: 3, deadLetteredAt: when });
  }
  // Refused once, waiting out its backoff: not a dead letter, requeue leaves it alone.
  exec(db, `UPDATE "PosTransactions" SET "SyncAttempts" = 1 WHERE "Id" = ?`, tx[2]!);
  setState(db, 'PosTransactions', tx[2]!, { rejections: 1, nextAttemptAt: efTime(Date.now() + 3_600_000) });
  return { dir, db, dead, waiting: tx[2]!, run: (...args) => runCli(['--db', db, ...args], { cwd: dir }) };
}

describe('requeue', () => {
  test('--all: every dead letter back to pending, refusals reset, attempts kept; a pass then delivers them', async () => {
    const a = arrange();
    const r = await a.run('requeue', '--all');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'requeued 3 dead-lettered rows (2 transactions, 1 inventory update); the next pass sends them\n');
    for (const row of rows(a.db).filter((x) => a.dead.includes(x.Id))) {
      assert.deepEqual({ ...row, Id: '' }, { Id: '', Synced: 0, SyncAttempts: 5, SyncRejections: 0, NextAttemptAt: null, DeadLetteredAt: null });
    }
    const waiting = rows(a.db).find((x) => x.Id === a.waiting)!;
    assert.equal(waiting.SyncRejections, 1, 'a row that is not a dead letter is untouched');
    assert.notEqual(waiting.NextAttemptAt, null);
    const sync = await a.run('--central-url', central.url, 'sync');
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual(pendingIds(a.db), [a.waiting], 'delivered, except the row still waiting out its backoff');
  });

  test('--id: the given rows (lower-case typing accepted), others reported as they are; unknown ids → 64', async () => {
    const a = arrange();
    const synced = query<{ Id: string }>(a.db, `SELECT "Id" FROM "InventoryUpdates" ORDER BY rowid`)[1]!.Id;
    exec(a.db, `UPDATE "InventoryUpdates" SET "Synced" = 1 WHERE "Id" = ?`, synced);
    const r = await a.run('--json', 'requeue', '--id', a.dead[0]!.toLowerCase(), a.waiting, synced, 'NO-SUCH-ID');
    assert.equal(r.code, 64, r.stderr);
    const doc = JSON.parse(r.stdout) as { requeued: unknown; ids: unknown; unknownIds: unknown; exitCode: number };
    assert.equal(doc.exitCode, 64);
    assert.deepEqual(doc.requeued, { transaction: 1, inventory: 0 });
    assert.deepEqual(doc.ids, [
      { id: a.dead[0], entity: 'transaction', result: 'requeued' },
      { id: a.waiting, entity: 'transaction', result: 'notDeadLettered', synced: false },
      { id: synced, entity: 'inventory', result: 'notDeadLettered', synced: true },
      { id: 'NO-SUCH-ID', entity: null, result: 'unknown' },
    ]);
    assert.deepEqual(doc.unknownIds, ['NO-SUCH-ID']);
    assert.match(r.stderr, /no row has the id NO-SUCH-ID/);
    const after = rows(a.db);
    assert.equal(after.find((x) => x.Id === a.dead[0])!.DeadLetteredAt, null);
    assert.notEqual(after.find((x) => x.Id === a.dead[1])!.DeadLetteredAt, null, 'not named: still dead-lettered');
  });

  test('a pass holding the lock delays requeue (Database.CommandTimeoutSeconds) instead of turning the technician away', async () => {
    const a = arrange();
    const lock = holdLock(a.db);
    const startedAt = Date.now();
    const release = setTimeout(() => lock.release(), 1000);
    try {
      const r = await a.run('requeue', '--all');
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - startedAt >= 900, `requeue ended ${Date.now() - startedAt} ms after the lock was taken: it did not wait`);
      assert.deepEqual(rows(a.db).filter((x) => a.dead.includes(x.Id)).map((x) => x.DeadLetteredAt), [null, null, null]);
    } finally {
      clearTimeout(release);
      lock.release();
    }
  });

  test('a pass that holds the lock past Database.CommandTimeoutSeconds: 75 naming the holder and the wait, nothing requeued', async () => {
    const a = arrange();
    const lock = holdLock(a.db);
    try {
      const r = await runCli(['--db', a.db, 'requeue', '--all'], { cwd: a.dir, env: { Database__CommandTimeoutSeconds: '1' } });
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, /^pos-sync: another pos-sync sync \(pid \d+, since .*\) holds .*\.pos-sync\.lock — one pass per database at a time: requeue waited 1 s \(Database\.CommandTimeoutSeconds\) for it; run it again when that pass has ended$/m);
      assert.equal(rows(a.db).filter((x) => a.dead.includes(x.Id) && x.DeadLetteredAt !== null).length, 3);
    } finally {
      lock.release();
    }
  });

  test('human output names what was left alone and what is unknown', async () => {
    const a = arrange();
    const r = await a.run('requeue', '--id', a.dead[2]!, a.waiting, 'nope');
    assert.equal(r.code, 64);
    assert.deepEqual(lines(r.stdout), [
      'requeued 1 dead-lettered row (0 transactions, 1 inventory update); the next pass sends it',
      `  ${a.waiting}: not dead-lettered (still pending), left as it is`,
      'unknown ids (in neither PosTransactions nor InventoryUpdates): nope',
    ]);
    const again = await a.run('requeue', '--id', a.dead[2]!);
    assert.equal(again.code, 0, 'requeueing twice is harmless');
    assert.match(again.stdout, /^no dead-lettered row was requeued\n/);
  });

  const usage: { name: string; args: string[]; message: RegExp }[] = [
    { name: 'neither --all nor --id', args: ['requeue'], message: /say which dead-lettered or quarantined rows to requeue: --all, or --id <id\.\.\.>/ },
    { name: 'both --all and --id', args: ['requeue', '--all', '--id', 'X'], message: /either --all or --id, not both/ },
    { name: '--id without a value', args: ['requeue', '--id'], message: /argument missing/ },
    { name: 'an empty id', args: ['requeue', '--id', ''], message: /is not a row id/ },
    { name: 'an unknown option', args: ['requeue', '--everything'], message: /unknown option '--everything'/ },
  ];
  for (const u of usage) {
    test(`usage error: ${u.name} → 64, nothing changed`, async () => {
      const a = arrange();
      const before = rows(a.db);
      const r = await a.run(...u.args);
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, u.message);
      assert.equal(r.stdout, '');
      assert.deepEqual(rows(a.db), before);
    });
  }
});
