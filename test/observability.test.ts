// Telling the truth to the people who watch pos-sync, through the real bin/pos-sync and
// the reference central: health reads how the passes ended; status's verdict, since when and what
// to do, in two time zones with the "today" boundary; dead letters listed; --json documents
// checked against man/schemas/*.schema.json; the terminal output under a pseudo-terminal, colours
// included.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { centralForFile } from './helpers/central.js';
import { BIN, cleanEnv, lines, runCli, startCli, type CliResult } from './helpers/cli.js';
import { exec, query } from './helpers/db.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('observability');
const central = centralForFile({ seed: 15 });
after(() => tmp.cleanup());

const ZONES = [
  { tz: 'America/New_York', abbr: '(?:EST|EDT)' },
  { tz: 'Europe/Berlin', abbr: '(?:CET|CEST)' },
] as const;

interface Store {
  readonly dir: string;
  readonly db: string;
  run(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
}

/** A store with seeded rows and thresholds that keep age checks out of the way unless asked. */
function store(tz: string, rows: number, sync: Record<string, unknown> = {}): Store {
  const dir = tmp.make();
  const db = seedDb(path.join(dir, 'POS_Local.db'), rows, 0, 31);
  const settings = {
    Sync: {
      MaxRetryAttempts: 0,
      ...sync,
      Health: { OldestPendingWarningSeconds: 1e9, OldestPendingCriticalSeconds: 1e9, ...((sync['Health'] as object | undefined) ?? {}) },
    },
  };
  fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify(settings));
  return {
    dir,
    db,
    run: (args, env = {}) => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central.url, ...args], { cwd: dir, env: { TZ: tz, ...env } }),
  };
}

/** HH:MM of `ms` on the wall clock of `tz` (Intl, independently of pos-sync's own formatting). */
function hhmm(ms: number, tz: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stateOf(s: Store): { lastSuccessAt: string | null; lastPass: { exitCode: number; since: string; at: string } | null; breaker: { openedAt: string | null } } {
  return JSON.parse(fs.readFileSync(path.join(s.dir, 'POS_Local.db.pos-sync.state.json'), 'utf8'));
}

function json(r: CliResult, schema: string): Record<string, unknown> {
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(validate(loadSchema(schema), doc), [], `${schema} schema: ${r.stdout}`);
  return doc;
}

/** The first three lines of `status`: verdict, since when, what to do. */
function firstLines(r: CliResult, n = 3): string[] {
  return r.stdout.split('\n').slice(0, n);
}

/** `HH:MM ZONE, N s ago` (or min) for the instant `iso`. */
function when(iso: string, tz: string, abbr: string): string {
  return `${escape(hhmm(Date.parse(iso), tz))} ${abbr}, \\d+ (?:s|min) ago`;
}

describe('health sees what the passes see', () => {
  test('a wrong token: two passes exit 77, then health is CRITICAL naming the credentials and since when', async () => {
    central.setFaults({ requireToken: 'the-right-token' });
    const tz = 'Europe/Berlin';
    const s = store(tz, 3);
    const first = await s.run(['sync'], { POS_SYNC_API_TOKEN: 'a-wrong-token' });
    assert.equal(first.code, 77, first.stderr);
    const since = stateOf(s).lastPass!.since;
    const second = await s.run(['sync'], { POS_SYNC_API_TOKEN: 'a-wrong-token' });
    assert.equal(second.code, 77, second.stderr);
    // The failing run started with the first pass, and the state file says so after the second.
    const state = stateOf(s);
    assert.deepEqual([state.lastPass!.exitCode, state.lastPass!.since], [77, since]);
    assert.ok(state.lastPass!.at > since);

    // health's own GET of /health is answered 200 without a token: only the passes tell.
    const health = await s.run(['health'], { POS_SYNC_API_TOKEN: 'a-wrong-token' });
    assert.equal(health.code, 2, health.stdout + health.stderr);
    assert.match(
      lines(health.stdout)[0]!,
      new RegExp(`^POS-SYNC CRITICAL - last pass: the central API refused the credentials since ${when(since, tz, '(?:CET|CEST)')} \\(last pass .*, exit 77\\): the central API refused the credentials \\(HTTP 401\\) — check the API token`),
    );
    assert.match(health.stdout, /^OK {7}central API: HTTP 200/m);
    const doc = json(await s.run(['--json', 'health'], { POS_SYNC_API_TOKEN: 'a-wrong-token' }), 'health');
    assert.deepEqual((doc['checks'] as { name: string; status: string }[]).filter((c) => c.status === 'CRITICAL').map((c) => c.name), ['lastPass']);
  });

  test('dead letters: listed with ids, products, amounts, refusals and reasons; health WARNING with the count and the command', async () => {
    const tz = 'America/New_York';
    const s = store(tz, 5, { MaxRejections: 1 });
    const ids = query<{ Id: string }>(s.db, 'SELECT "Id" FROM "PosTransactions" ORDER BY rowid LIMIT 2').map((r) => r.Id);
    central.setFaults({ refuseIds: ids });
    const sync = await s.run(['sync']);
    assert.equal(sync.code, 65, sync.stderr);
    assert.match(lines(sync.stderr).at(-1)!, /^pos-sync: the central API refused 2 rows \(2 dead-lettered\); the rest were delivered — see why with pos-sync status --dead-letters/);

    const listed = await s.run(['status', '--dead-letters']);
    assert.equal(listed.code, 1, listed.stderr);
    const out = listed.stdout;
    assert.match(out, /^dead letters: 2 rows$/m);
    assert.match(out, /^id +entity +product +amount +refusals +dead-lettered +last reason$/m);
    for (const id of ids) {
      const product = query<{ ProductId: string; TotalAmount: string }>(s.db, 'SELECT "ProductId", "TotalAmount" FROM "PosTransactions" WHERE "Id" = ?', id)[0]!;
      assert.match(out, new RegExp(`^${id} +transaction +${escape(product.ProductId)} +${escape(product.TotalAmount)} +1 +\\d\\d:\\d\\d ${'(?:EST|EDT)'} +.*refused by the central \\(refuseIds\\)`, 'm'));
    }
    assert.ok(out.trimEnd().endsWith(`pos-sync requeue --id ${ids.join(' ')}`), out);
    assert.ok(!out.includes('"rejected"'), 'the reason, not the central\'s raw answer');

    const doc = json(await s.run(['--json', 'status', '--dead-letters']), 'status');
    const dl = doc['deadLetters'] as { total: number; rows: { id: string; refusals: number; lastReason: string }[]; requeue: string };
    assert.equal(dl.total, 2);
    assert.deepEqual(dl.rows.map((r) => r.id).sort(), [...ids].sort());
    assert.ok(dl.rows.every((r) => r.refusals === 1 && /refuseIds/.test(r.lastReason)));
    assert.equal(dl.requeue, `pos-sync requeue --id ${dl.rows.map((r) => r.id).join(' ')}`);

    const health = await s.run(['health']);
    assert.equal(health.code, 1, health.stdout + health.stderr);
    assert.equal(lines(health.stdout)[0], 'POS-SYNC WARNING - dead letters: 2 rows dead-lettered: list them with pos-sync status --dead-letters (warning above 0)');
    // The threshold is configurable.
    const raised = await s.run(['health'], { Sync__Health__DeadLetteredWarning: '2' });
    assert.equal(raised.code, 0, raised.stdout);
  });

  test('sync tells "nothing pending" from refused rows waiting until a time', async () => {
    const s = store('Europe/Berlin', 2, { MaxRejections: 3 });
    const id = query<{ Id: string }>(s.db, 'SELECT "Id" FROM "PosTransactions" LIMIT 1')[0]!.Id;
    central.setFaults({ refuseIds: [id] });
    assert.equal((await s.run(['sync'])).code, 65);
    // The backoff is pos-sync's own bookkeeping (PosSync_RowState).
    const next = query<{ NextAttemptAt: string }>(s.db, `SELECT "NextAttemptAt" FROM "PosSync_RowState" WHERE "Entity" = 'transaction' AND "Id" = ?`, id)[0]!.NextAttemptAt;
    const idle = await s.run(['sync']);
    assert.equal(idle.code, 0, idle.stderr);
    const due = Date.parse(next.replace(' ', 'T') + 'Z');
    assert.match(idle.stdout, new RegExp(`^nothing due: 1 refused row waits until (\\d{4}-\\d{2}-\\d{2} )?${escape(hhmm(due, 'Europe/Berlin'))} (?:CET|CEST) \\(\\d+ ms\\)\n$`));
    const status = await s.run(['status']);
    assert.equal(status.stdout.split('\n')[0], 'DEGRADED — 1 row refused, waiting to be retried');
  });

  test('a pass refused by the lock exits 75 and the state file never calls it a bug (1)', async () => {
    const s = store('Europe/Berlin', 3);
    // A central that accepts and never answers keeps the first pass (and its lock) busy.
    const sockets = new Set<net.Socket>();
    const hang = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}`;
      const args = ['--config', 'appsettings.json', '--db', s.db, '--central-url', url, 'sync', '--max-run-seconds', '4'];
      const first = startCli(args, { cwd: s.dir });
      const deadline = Date.now() + 10_000;
      while (sockets.size === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(sockets.size > 0, 'the first pass never reached the central');
      const second = await runCli(args, { cwd: s.dir });
      assert.equal(second.code, 75, second.stderr);
      assert.match(lines(second.stderr).at(-1)!, /^pos-sync: another pos-sync sync .* — /);
      const stateFile = path.join(s.dir, 'POS_Local.db.pos-sync.state.json');
      // The refused pass writes no state of its own (the holder writes when it ends): no file yet.
      assert.equal(fs.existsSync(stateFile), false, 'the pass refused by the lock wrote the state file');
      const r1 = await first.done;
      assert.equal(r1.code, 75, r1.stderr);
      assert.equal(stateOf(s).lastPass!.exitCode, 75, 'the holder records its own pass, as it exited');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });

  test('a database with no rows at all: health warns that it may not be the POS\'s', async () => {
    const s = store('Europe/Berlin', 0);
    assert.equal((await s.run(['sync'])).code, 0);
    const health = await s.run(['health']);
    assert.equal(health.code, 1, health.stdout);
    assert.match(lines(health.stdout)[0]!, /^POS-SYNC WARNING - database: the database holds no sales and no inventory updates at all: is --db/);
  });
});

for (const { tz, abbr } of ZONES) {
  describe(`status: verdict, since when, what to do (TZ=${tz})`, () => {
    test('nothing synced yet: NOT SYNCING, exit 2', async () => {
      const s = store(tz, 3);
      const r = await s.run(['status']);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(firstLines(r), ['NOT SYNCING — no pass has run yet', 'last success: never', 'to do: start the timer (systemctl enable --now pos-sync.timer) or run pos-sync sync']);
      json(await s.run(['--json', 'status']), 'status');
    });

    test('healthy: OK, exit 0', async () => {
      const s = store(tz, 3);
      assert.equal((await s.run(['sync'])).code, 0);
      const r = await s.run(['status']);
      assert.equal(r.code, 0, r.stderr);
      const [verdict, since, todo] = firstLines(r);
      assert.equal(verdict, 'OK — syncing, nothing pending');
      assert.match(since!, new RegExp(`^last success: ${when(stateOf(s).lastSuccessAt!, tz, abbr)}$`));
      assert.equal(todo, 'to do: nothing');
      const doc = json(await s.run(['--json', 'status']), 'status');
      assert.deepEqual([doc['verdict'], doc['exitCode'], doc['timeZone']], ['OK', 0, tz]);
      // The till, as Sync.TillId names it (unset: the host name), in both outputs.
      const host = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
      assert.equal(doc['tillId'], host);
      assert.ok(lines(r.stdout).some((l) => new RegExp(`^store +STORE001, till ${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, time zone `).test(l)), r.stdout);
    });

    test('central down, circuit breaker open: NOT SYNCING, exit 2', async () => {
      const s = store(tz, 3, { CircuitBreaker: { FailureThreshold: 1 } });
      assert.equal((await s.run(['sync'])).code, 0);
      const lastSuccess = stateOf(s).lastSuccessAt!;
      seedDb(s.db, 2, 0, 32);
      central.setFaults({ down: true });
      assert.equal((await s.run(['sync'])).code, 75);
      const r = await s.run(['status']);
      assert.equal(r.code, 2, r.stderr);
      const [verdict, since, todo] = firstLines(r);
      assert.match(verdict!, new RegExp(`^NOT SYNCING — the central API is unavailable \\(circuit breaker open since ${when(stateOf(s).breaker.openedAt!, tz, abbr)}\\)$`));
      assert.match(since!, new RegExp(`^last success: ${when(lastSuccess, tz, abbr)}$`));
      assert.equal(todo, 'to do: nothing is lost, rows wait; if it lasts, check the network and the central API (pos-sync health); pos-sync sync --force tries now');
      assert.match(r.stdout, /^central +circuit breaker open since .*; next probe \d\d:\d\d .* \(in \d+ s\) — last failure: HTTP 503/m);
      json(await s.run(['--json', 'status']), 'status');
    });

    test('credentials refused: NOT SYNCING, exit 2, and the token source named', async () => {
      central.setFaults({ requireToken: 'the-right-token' });
      const s = store(tz, 3);
      const env = { POS_SYNC_API_TOKEN: 'a-wrong-token' };
      assert.equal((await s.run(['sync'], env)).code, 77);
      const r = await s.run(['status'], env);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(firstLines(r).slice(1), [
        'last success: never',
        "to do: check the API token (Sync.ApiTokenFile, Sync.ApiToken or POS_SYNC_API_TOKEN) with the central's operator",
      ]);
      assert.match(firstLines(r)[0]!, new RegExp(`^NOT SYNCING — the central API refused the credentials since ${when(stateOf(s).lastPass!.since, tz, abbr)}$`));
      assert.match(r.stdout, /^token +environment POS_SYNC_API_TOKEN$/m);
      assert.ok(!r.stdout.includes('a-wrong-token'));
    });

    test('dead letters: DEGRADED, exit 1', async () => {
      const s = store(tz, 4, { MaxRejections: 1 });
      const id = query<{ Id: string }>(s.db, 'SELECT "Id" FROM "PosTransactions" LIMIT 1')[0]!.Id;
      central.setFaults({ refuseIds: [id] });
      assert.equal((await s.run(['sync'])).code, 65);
      const r = await s.run(['status']);
      assert.equal(r.code, 1, r.stderr);
      const [verdict, since, todo] = firstLines(r);
      assert.equal(verdict, 'DEGRADED — 1 row dead-lettered');
      assert.match(since!, new RegExp(`^last success: ${when(stateOf(s).lastSuccessAt!, tz, abbr)}$`));
      assert.equal(todo, 'to do: see which and why: pos-sync status --dead-letters; after fixing the cause: pos-sync requeue --id <id>');
    });

    test('"today" starts at the store\'s local midnight, not at UTC midnight', async () => {
      const s = store(tz, 1);
      assert.equal((await s.run(['sync'])).code, 0);
      const doc = json(await s.run(['--json', 'status']), 'status') as { today: { since: string; transactionsSynced: number } };
      const midnight = Date.parse(doc.today.since);
      // Independently of pos-sync: the local wall clock at that instant is 00:00.
      assert.equal(hhmm(midnight, tz), '00:00');
      assert.ok(Date.now() - midnight < 86_400_000 + 3_600_000 && midnight <= Date.now());
      // One recorded pass an hour before the local midnight (which is "today" in UTC for New York
      // after 19:00, and in Berlin before 01:00), one an hour after it.
      const row = (at: number, n: number): void =>
        exec(
          s.db,
          `INSERT INTO "SyncServiceStatuses" ("Id","StoreId","LastSyncRun","TransactionsSyncedInLastRun","InventoryUpdatesSyncedInLastRun","FailedSyncsInLastRun","LastRunDuration","Status","LastError","CreatedAt","PendingTransactions","PendingInventoryUpdates")
           VALUES (?, 'STORE001', ?, ?, 0, 0, '00:00:00.1000000', 'Running', NULL, ?, 0, 0)`,
          `T-${at}`,
          new Date(at).toISOString().replace('T', ' ').replace('Z', ''),
          n,
          new Date(at).toISOString().replace('T', ' ').replace('Z', ''),
        );
      row(midnight - 3_600_000, 100);
      row(midnight + 60_000, 7);
      const after = json(await s.run(['--json', 'status']), 'status') as { today: { transactionsSynced: number; passes: number } };
      assert.deepEqual([after.today.transactionsSynced, after.today.passes], [1 + 7, 2]);
      const human = await s.run(['status']);
      assert.match(human.stdout, new RegExp(`^today +8 transactions and 0 inventory updates synced in 2 passes since 00:00 ${abbr}; 0 failed attempts`, 'm'));
    });
  });
}

describe('--json documents follow their schema', () => {
  test('an error document has command, error, hint and exitCode', async () => {
    const dir = tmp.make();
    const missing = await runCli(['--db', path.join(dir, 'nope.db'), '--json', 'sync'], { cwd: dir });
    assert.equal(missing.code, 74);
    const doc = json(missing, 'error');
    assert.deepEqual([doc['command'], doc['exitCode']], ['sync', 74]);
    assert.match(String(doc['hint']), /Sync\.AutoCreateDatabase/);
    const usage = await runCli(['--json', 'status', '--limit', 'many'], { cwd: dir });
    assert.equal(usage.code, 64);
    assert.deepEqual([json(usage, 'error')['command'], json(usage, 'error')['hint']], ['status', 'see pos-sync status --help']);
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { TimeZone: 'Mars/Olympus_Mons' } }));
    const config = await runCli(['--config', 'appsettings.json', '--json', 'status'], { cwd: dir });
    assert.equal(config.code, 78);
    assert.match(String(json(config, 'error')['error']), /Sync\.TimeZone.*Mars\/Olympus_Mons/);
  });

  test('every command\'s document: seed, sync (dry run, a pass, refusals), status, health, requeue, cleanup, config', async () => {
    const s = store('Europe/Berlin', 0, { MaxRejections: 1 });
    json(await s.run(['--json', 'seed', '--transactions', '3', '--inventory', '1', '--random-seed', '5']), 'seed');
    json(await s.run(['--json', 'sync', '--dry-run']), 'sync');
    const id = query<{ Id: string }>(s.db, 'SELECT "Id" FROM "PosTransactions" LIMIT 1')[0]!.Id;
    central.setFaults({ refuseIds: [id] });
    const pass = json(await s.run(['--json', 'sync']), 'sync');
    assert.deepEqual([pass['exitCode'], pass['refused'], pass['deadLettered']], [65, { transaction: 1, inventory: 0 }, { transaction: 1, inventory: 0 }]);
    json(await s.run(['--json', 'sync']), 'sync');
    json(await s.run(['--json', 'status', '--dead-letters']), 'status');
    json(await s.run(['--json', 'health']), 'health');
    json(await s.run(['--json', 'requeue', '--id', id, 'NO-SUCH-ID']), 'requeue');
    json(await s.run(['--json', 'cleanup', '--dry-run']), 'cleanup');
    json(await s.run(['--json', 'config'], { Sync__ApiToken: 'secret-for-schema-test' }), 'config');
  });

  test('sync --watch --json: one document, the last pass inside, after SIGTERM', async () => {
    const s = store('Europe/Berlin', 2);
    const { child, done } = startCli(['--config', 'appsettings.json', '--db', s.db, '--central-url', central.url, '--json', 'sync', '--watch'], { cwd: s.dir, env: { Sync__SyncIntervalSeconds: '1' } });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const doc = json(r, 'sync') as { watch: boolean; passes: number; lastPass: { refused: unknown } };
    assert.equal(doc.watch, true);
    assert.ok(doc.passes >= 1);
    assert.deepEqual(doc.lastPass.refused, { transaction: 0, inventory: 0 });
  });

  test('the validator itself rejects what breaks a schema', () => {
    const schema = loadSchema('error');
    assert.deepEqual(validate(schema, { schemaVersion: 1, command: 'sync', error: 'x', hint: null, exitCode: 74 }), []);
    assert.notDeepEqual(validate(schema, { schemaVersion: 1, command: 'sync', error: 'x', exitCode: 74 }), []);
    assert.notDeepEqual(validate(schema, { schemaVersion: 1, command: 'sync', error: 'x', hint: null, exitCode: 3 }), []);
    assert.notDeepEqual(validate(schema, { schemaVersion: 1, command: 'sync', error: 'x', hint: null, exitCode: 74, extra: 1 }), []);
    assert.notDeepEqual(validate(loadSchema('status'), { schemaVersion: 1 }), []);
  });
});

describe('--help of each command', () => {
  for (const command of ['sync', 'seed', 'status', 'health', 'cleanup', 'requeue', 'config']) {
    test(`${command}: the global options it accepts, examples and exit codes`, async () => {
      const r = await runCli([command, '--help'], { cwd: tmp.make() });
      assert.equal(r.code, 0, r.stderr);
      const global = r.stdout.split(/^Global Options:$/m)[1] ?? '';
      for (const flag of ['--config', '--db', '--state-file', '--store-id', '--central-url', '--json', '--verbose', '--quiet', '--no-color']) assert.match(global, new RegExp(` ${flag}\\b`), `${command} --help: ${flag}`);
      assert.match(r.stdout, /^Examples:\n( {2}.*\n)*? {2}.*pos-sync /m);
      assert.match(r.stdout, /^Exit codes( \(Monitoring Plugins\))?:\n {2}0 {3}\S/m);
    });
  }
});

describe('on a terminal (a pseudo-terminal through script)', () => {
  /**
   * Runs bin/pos-sync under `script`, so stdout and stderr are a terminal; returns what it wrote.
   * Asynchronously: the central answering it runs in this very process.
   */
  function underPty(args: readonly string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, out: out.replace(/\r\n/g, '\n') }));
    });
  }

  test('the verdict is coloured, and a failed sync ends with one red pos-sync: … — … line', async () => {
    central.setFaults({ requireToken: 'the-right-token' });
    const s = store('Europe/Berlin', 2);
    const args = ['--config', 'appsettings.json', '--db', s.db, '--central-url', central.url];
    const env = { TZ: 'Europe/Berlin', POS_SYNC_API_TOKEN: 'a-wrong-token' };
    const sync = await underPty([...args, 'sync'], s.dir, env);
    assert.equal(sync.code, 77, sync.out);
    const closing = sync.out.split('\n').filter((l) => l.includes('pos-sync:'));
    assert.equal(closing.length, 1, sync.out);
    assert.ok(closing[0]!.startsWith('\u001b[31mpos-sync: the central API refused the credentials (HTTP 401) — check the API token'), JSON.stringify(closing[0]));
    assert.ok(closing[0]!.endsWith('\u001b[39m'), JSON.stringify(closing[0]));

    // An open breaker: on a terminal too, one red closing line (no log line besides).
    const down = store('Europe/Berlin', 2, { CircuitBreaker: { FailureThreshold: 1 } });
    central.setFaults({ down: true, requireToken: null });
    const downArgs = ['--config', 'appsettings.json', '--db', down.db, '--central-url', central.url];
    assert.equal((await underPty([...downArgs, 'sync'], down.dir, { TZ: 'Europe/Berlin' })).code, 75);
    const open = await underPty([...downArgs, 'sync'], down.dir, { TZ: 'Europe/Berlin' });
    assert.equal(open.code, 75, open.out);
    const openLines = open.out.split('\n').filter((l) => l.includes('pos-sync:') || l.includes('circuit breaker is open'));
    assert.equal(openLines.length, 1, open.out);
    assert.ok(openLines[0]!.startsWith('\u001b[31mpos-sync: the circuit breaker is open ('), JSON.stringify(openLines[0]));
    assert.ok(openLines[0]!.includes(' — nothing is lost, the rows wait; pos-sync sync --force tries now'));
    central.setFaults({ down: false, requireToken: 'the-right-token' });

    const status = await underPty([...args, 'status'], s.dir, env);
    assert.equal(status.code, 2, status.out);
    assert.ok(status.out.startsWith('\u001b[1m\u001b[31mNOT SYNCING\u001b[39m\u001b[22m — the central API refused the credentials since '), JSON.stringify(status.out.slice(0, 120)));
    const plain = await underPty([...args, '--no-color', 'status'], s.dir, env);
    assert.ok(plain.out.startsWith('NOT SYNCING — '), JSON.stringify(plain.out.slice(0, 60)));
    assert.ok(!plain.out.includes('\u001b['));
  });
});
