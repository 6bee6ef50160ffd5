// The alerting rules and the Grafana dashboard for the tills' own metrics (examples/prometheus,
// examples/grafana): promtool (Debian's prometheus package; its server is never started) checks
// the rules and runs their unit tests, the dashboard's queries are checked as PromQL the same way,
// and every pos_sync_* metric either names is one a real `pos-sync sync --metrics-file` writes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { openDatabase } from '../src/store/db.js';
import { useCentral } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { efTime } from './helpers/pos.js';
import { REPO_ROOT, tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('prometheus-alerts');
after(tmp.cleanup);

const RULES = path.join(REPO_ROOT, 'examples', 'prometheus', 'pos-sync-alerts.yml');
const RULE_TESTS = path.join(REPO_ROOT, 'examples', 'prometheus', 'pos-sync-alerts.test.yml');
const DASHBOARD = path.join(REPO_ROOT, 'examples', 'grafana', 'pos-sync-dashboard.json');

/** promtool, or a failure naming the package: CI installs it (.ci/run), a test never skips it. */
function promtool(args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('promtool is not installed: apt-get install --no-install-recommends prometheus (its server is not needed)');
  }
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

interface Panel {
  id: number;
  title: string;
  targets: Array<{ expr: string; refId: string }>;
}

function dashboard(): { uid: string; panels: Panel[]; templating: { list: Array<{ name: string; type: string }> } } {
  return JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as never;
}

function metricNames(text: string): Set<string> {
  return new Set(text.match(/\bpos_sync_[a-z_]+\b/g) ?? []);
}

describe('the alerting rules', () => {
  test('promtool check rules: valid, every rule found', () => {
    const r = promtool(['check', 'rules', RULES], path.dirname(RULES));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: 10 rules found/);
  });

  test('promtool test rules: not syncing, needs action, dead letters, breaker open long, oldest pending age, offline deadline — each fires when it should, and only then', () => {
    const r = promtool(['test', 'rules', RULE_TESTS], path.dirname(RULE_TESTS));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
    const tested = new Set([...fs.readFileSync(RULE_TESTS, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    const defined = new Set([...fs.readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]));
    assert.deepEqual([...tested].sort(), [...defined].sort(), 'every alert has a unit test');
  });

  test('a rule that no longer matches its test makes promtool fail (the unit tests can fail)', () => {
    const dir = tmp.make();
    fs.writeFileSync(path.join(dir, 'pos-sync-alerts.yml'), fs.readFileSync(RULES, 'utf8').replace('> 600\n', '> 6000\n'));
    fs.copyFileSync(RULE_TESTS, path.join(dir, 'pos-sync-alerts.test.yml'));
    const r = promtool(['test', 'rules', 'pos-sync-alerts.test.yml'], dir);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /FAILED[\s\S]*PosSyncNotSyncing/);
  });
});

describe('the Grafana dashboard', () => {
  test('valid JSON, panels with unique ids, a datasource and a till variable; every query is PromQL promtool accepts', () => {
    const d = dashboard();
    assert.equal(d.uid, 'pos-sync-tills');
    assert.deepEqual(d.templating.list.map((v) => [v.name, v.type]), [['datasource', 'datasource'], ['instance', 'query']]);
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const exprs = d.panels.flatMap((p) => p.targets.map((t) => t.expr));
    assert.ok(exprs.length >= 10);
    // As recording rules, with the template variable as Grafana would fill it for "All".
    const dir = tmp.make();
    const rules = ['groups:', '  - name: dashboard', '    rules:', ...exprs.flatMap((e, i) => [`      - record: dashboard:query_${i}`, `        expr: ${JSON.stringify(e.replaceAll('$instance', '.*'))}`])];
    fs.writeFileSync(path.join(dir, 'dashboard.yml'), `${rules.join('\n')}\n`);
    const r = promtool(['check', 'rules', 'dashboard.yml'], dir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });
});

describe('the metrics they use are the ones pos-sync writes', () => {
  test('every pos_sync_* name in the rules and the dashboard is in a metrics file from a real pass', async (t) => {
    const central = await useCentral(t);
    const cwd = tmp.make();
    const db = path.join(cwd, 'pos.db');
    openDatabase({ path: db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
    const conn = new Sqlite(db);
    const at = efTime(Date.now() - 60_000);
    conn.prepare(
      `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "CreatedAt", "Synced", "SyncAttempts") VALUES ('AB0E0000-0000-4000-8000-000000000001', 'TX-1', 'STORE001', 'P1', 'Sale', 1, '1.00', '1.00', ?, ?, 0, 0)`,
    ).run(at, at);
    conn.close();
    const file = path.join(cwd, 'pos_sync.prom');
    const r = await runCli(['--db', db, '--central-url', central.url, 'sync', '--metrics-file', file], { cwd, env: { Sync__OfflineDeadlineHours: '24', Sync__TillId: 'TILL-7' }, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(file, 'utf8'), /^pos_sync_info\{store="STORE001",till="TILL-7",version="[^"]+"\} 1$/m, 'the till names itself');
    const written = metricNames(fs.readFileSync(file, 'utf8'));
    const used = new Set([...metricNames(fs.readFileSync(RULES, 'utf8')), ...metricNames(fs.readFileSync(DASHBOARD, 'utf8'))]);
    assert.ok(used.size >= 10, [...used].join(' '));
    const unknown = [...used].filter((name) => !written.has(name));
    assert.deepEqual(unknown, [], `not in the metrics file: ${unknown.join(', ')}`);
    // promtool reads the file itself as valid exposition text.
    const check = spawnSync('promtool', ['check', 'metrics'], { input: fs.readFileSync(file, 'utf8'), encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  });
});
