// A header value pos-sync cannot send (a token or a Sync.ApiHeaders value holding a line break or
// another character HTTP forbids): a configuration error, exit 78, one line naming the header and
// never its value; nothing sent. A proxy variable Node cannot use: the same.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { startCentral } from '../examples/central/server.js';
import { lines, runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('unsendable-header');
after(tmp.cleanup);

const SECRET = 'sEcReT-42';
const cases: { why: string; sync?: Record<string, unknown>; env?: Record<string, string>; message: RegExp }[] = [
  { why: 'a token with a line break', env: { Sync__ApiToken: `${SECRET}\nmore` }, message: /^pos-sync: the API token \(header Authorization\) holds a character HTTP does not allow in a header/ },
  { why: 'a token with a control character', env: { Sync__ApiToken: `${SECRET}\u0001` }, message: /^pos-sync: the API token \(header Authorization\)/ },
  { why: 'an ApiHeaders value with a line break', sync: { ApiHeaders: { 'X-Api-Key': `${SECRET}\r\nX-Evil: 1` } }, message: /^pos-sync: Sync\.ApiHeaders\.X-Api-Key holds a character HTTP does not allow in a header/ },
  { why: 'an ApiHeaders name with a space', sync: { ApiHeaders: { 'X Api': SECRET } }, message: /^pos-sync: Sync\.ApiHeaders has a header name HTTP does not allow: "X Api"/ },
  { why: 'a proxy variable that is not a URL', env: { HTTP_PROXY: `proxy ${SECRET}` }, message: /^pos-sync: the environment variable HTTP_PROXY is not a proxy URL pos-sync can use/ },
];

for (const c of cases) {
  test(`${c.why}: exit 78, one line naming it, never the value, nothing sent`, async () => {
    const central = await startCentral({});
    try {
      const dir = tmp.make('store');
      const db = buildFixtureDb(path.join(dir, 'pos.db'));
      const config = path.join(dir, 'appsettings.json');
      fs.writeFileSync(config, JSON.stringify({ Sync: c.sync ?? {} }));
      const r = await runCli(['--config', config, '--db', db, '--central-url', central.url, 'sync'], { cwd: dir, env: c.env ?? {} });
      assert.equal(r.code, 78, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0]!, c.message);
      assert.ok(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), r.stderr);
      assert.equal(central.stats().posts, 0);
      assert.deepEqual(pendingIds(db).sort(), [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory].sort());
    } finally {
      await central.close();
    }
  });
}
