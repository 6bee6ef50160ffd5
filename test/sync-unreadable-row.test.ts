// A row whose value pos-sync cannot read (a decimal comma from a till with the wrong locale) is
// not sent, is listed by `status` on a line of its own, and is never reported as "the central API
// refused" nor dead-lettered, however many passes meet it. Through the real binary.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { runCli } from './helpers/cli.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { exec, pendingIds, query } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sync-unreadable-row');
let central: RunningCentral | undefined;
after(async () => {
  await central?.close();
  tmp.cleanup();
});

test('an unreadable value: listed, not sent, never "refused by the central" nor dead-lettered', async () => {
  central = await startCentral({ seed: 14 });
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  seedDb(db, 30, 5, 61);
  const bad = query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions" ORDER BY rowid LIMIT 1 OFFSET 9`)[0]!.Id;
  exec(db, `UPDATE "PosTransactions" SET "TotalAmount" = '54,99' WHERE "Id" = ?`, bad);
  fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { RetryDelayMinutes: 0, MaxRejections: 1 } }));
  const run = (...args: string[]) => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central!.url, ...args], { cwd: dir });

  for (let n = 1; n <= 3; n++) {
    const r = await run('sync');
    assert.equal(r.code, 65, r.stderr);
    assert.doesNotMatch(r.stderr, /central API refused/);
    assert.match(r.stderr, /1 row the POS wrote holds a value pos-sync cannot read: not sent \(not refused by the central\)/);
  }
  assert.deepEqual(pendingIds(db), [bad]);
  assert.ok(!central.receivedIds().includes(bad));
  assert.deepEqual(query(db, `SELECT "Id" FROM "PosSync_RowState" WHERE "Rejections" > 0 OR "DeadLetteredAt" IS NOT NULL`), [], 'never refused nor dead-lettered (MaxRejections 1)');

  const human = (await run('status')).stdout;
  assert.match(human, /^unreadable +1 row not sent: the POS wrote a value pos-sync cannot read/m);
  assert.match(human, new RegExp(`^  transaction ${bad}: invalid row: TotalAmount is "54,99"`, 'm'));
  assert.match(human, /^dead-lettered +none$/m);
  const json = JSON.parse((await run('--json', 'status')).stdout) as { unreadable: { total: number; rows: { id: string; reason: string }[] }; deadLettered: number };
  assert.deepEqual(validate(loadSchema('status'), json), []);
  const pass = JSON.parse((await run('--json', 'sync')).stdout) as Record<string, unknown>;
  assert.deepEqual(validate(loadSchema('sync'), pass), []);
  assert.deepEqual(pass['unreadable'], { transaction: 1, inventory: 0 });
  assert.deepEqual(pass['refused'], { transaction: 0, inventory: 0 });
  assert.equal(json.unreadable.total, 1);
  assert.equal(json.unreadable.rows[0]!.id, bad);
  assert.equal(json.deadLettered, 0);
  assert.equal((await run('status')).code, 1, 'DEGRADED');
});
