// A central that refuses every row for one reason ("store not registered") is recognised across
// passes, not only within one: a quiet till that sends one row per pass penalises no row (no
// refusal count, no backoff, no dead letter), and the passes exit 78 with the reason; once the
// central is fixed everything arrives. Through the real binary against the reference central.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { exec, pendingIds, query } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sync-systemic-refusal');
let central: RunningCentral | undefined;
after(async () => {
  await central?.close();
  tmp.cleanup();
});

/** A till whose POS writes its sales one at a time: they wait in a table of the test's own. */
function quietTill(sales: number): { db: string; ids: string[]; writeNext(): string; sync(): Promise<CliResult>; run(...a: string[]): Promise<CliResult> } {
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  seedDb(db, sales, 0, 41);
  exec(db, `CREATE TABLE "Later" AS SELECT * FROM "PosTransactions" ORDER BY rowid`);
  exec(db, `DELETE FROM "PosTransactions"`);
  const ids = query<{ Id: string }>(db, `SELECT "Id" FROM "Later" ORDER BY rowid`).map((r) => r.Id);
  let next = 0;
  fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { RetryDelayMinutes: 5 } }));
  const run = (...args: string[]): Promise<CliResult> => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central!.url, ...args], { cwd: dir });
  return {
    db,
    ids,
    writeNext: () => {
      const id = ids[next++]!;
      exec(db, `INSERT INTO "PosTransactions" SELECT * FROM "Later" WHERE "Id" = ?`, id);
      return id;
    },
    sync: () => run('--json', 'sync'),
    run,
  };
}

function assertNonePenalised(db: string): void {
  assert.deepEqual(query(db, `SELECT "Id", "Rejections", "NextAttemptAt", "DeadLetteredAt" FROM "PosSync_RowState" WHERE "Rejections" > 0 OR "NextAttemptAt" IS NOT NULL OR "DeadLetteredAt" IS NOT NULL`), []);
  assert.deepEqual(query(db, `SELECT "EntityId" FROM "SyncRetryLogs"`), [], 'no refusal recorded');
}

describe('a central refusing every row for one reason, a till sending one row per pass', () => {
  test('no row is penalised, the passes exit 78 with the reason; fixed, everything arrives', async () => {
    central = await startCentral({ seed: 12 });
    const till = quietTill(14);
    central.setFaults({ refuseIds: till.ids, refuseReason: 'store not registered' });
    const codes: number[] = [];
    for (let n = 0; n < 14; n++) {
      till.writeNext();
      const r = await till.sync();
      codes.push(r.code ?? -1);
      assertNonePenalised(till.db);
      // The first pass has one row and cannot tell a row's fault from the store's: it says nothing yet.
      const error = JSON.parse(r.stdout).error as string | null;
      assert.match(String(error), n === 0 ? /^null$/ : /refused all .* for the same reason.*no row penalised.*store not registered/, `pass ${n + 1}`);
    }
    assert.deepEqual(codes, [0, ...Array(13).fill(78)], 'the first pass cannot tell yet and penalises nothing; every later pass knows');
    assert.equal(pendingIds(till.db).length, 14, 'every sale still pending, none waiting out a backoff');
    const status = JSON.parse((await till.run('--json', 'status')).stdout) as Record<string, any>;
    assert.match(status['notAboutRows'].reason, /store not registered/);

    central.setFaults({ refuseIds: [] });
    const fixed = await till.sync();
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.deepEqual(pendingIds(till.db), []);
    assert.equal(new Set(central.receivedIds()).size, 14);
  });

  test('remembered in the state file: the next lone row refused for the same reason decides, though the first is gone', async () => {
    central ??= await startCentral({ seed: 12 });
    central.reset();
    const till = quietTill(2);
    central.setFaults({ refuseIds: till.ids, refuseReason: 'store not registered' });
    const first = till.writeNext();
    assert.equal((await till.sync()).code, 0);
    // The POS voids the first sale: the next pass has only the second to judge by.
    exec(till.db, `DELETE FROM "PosTransactions" WHERE "Id" = ?`, first);
    till.writeNext();
    const second = await till.sync();
    assert.equal(second.code, 78, second.stderr);
    assert.match(JSON.parse(second.stdout).error, /of this pass and of the passes before it for the same reason/);
    assertNonePenalised(till.db);
  });

  test('a bad row alone is not taken for the central: once another row is accepted, it counts as refused', async () => {
    central ??= await startCentral({ seed: 12 });
    central.reset();
    const till = quietTill(2);
    central.setFaults({ refuseIds: [till.ids[0]!], refuseReason: 'price must be positive' });
    till.writeNext();
    assert.equal((await till.sync()).code, 0, 'alone: not judged yet');
    assertNonePenalised(till.db);
    const waiting = JSON.parse((await till.run('--json', 'status')).stdout) as { verdict: string; problems: { problem: string }[] };
    assert.equal(waiting.verdict, 'DEGRADED', 'status says a refusal waits to be judged');
    assert.ok(waiting.problems.some((p) => /refused every row tried since the last accepted one \(1 row\) for one reason: HTTP 422: price must be positive/.test(p.problem)), JSON.stringify(waiting.problems));
    till.writeNext();
    const r = await till.sync();
    assert.equal(r.code, 65, r.stderr);
    assert.equal(query<{ n: number }>(till.db, `SELECT "Rejections" AS n FROM "PosSync_RowState" WHERE "Id" = ?`, till.ids[0]!)[0]!.n, 1);
    assert.deepEqual(pendingIds(till.db), [till.ids[0]!]);
  });
});
