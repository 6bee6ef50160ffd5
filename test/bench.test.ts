// The benchmark still works: `run.js bench --quick` (tiny sizes) runs every case and writes its
// results in the documented shape. Speed is never asserted here (pos-sync-internals(7) PERFORMANCE: a benchmark, never a
// timed test) — only that each figure was measured against a same-run baseline.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT, tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('bench');
after(tmp.cleanup);

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'test', 'bench', 'run.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench --quick did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function assertSide(side: unknown, where: string): void {
  const s = side as { label?: unknown; stats?: Record<string, unknown> };
  assert.equal(typeof s.label, 'string', `${where}.label`);
  for (const k of ['median', 'min', 'max', 'spread']) assert.ok(isNumber(s.stats?.[k]), `${where}.stats.${k} is a number`);
  assert.ok(Array.isArray(s.stats?.['samples']) && (s.stats['samples'] as unknown[]).length >= 1 && (s.stats['samples'] as unknown[]).every(isNumber), `${where}.stats.samples`);
  assert.ok((s.stats!['min'] as number) <= (s.stats!['median'] as number) && (s.stats!['median'] as number) <= (s.stats!['max'] as number), `${where}: min ≤ median ≤ max`);
}

test('npm run bench -- --quick measures every case against a same-run baseline and writes JSON', { timeout: 300_000 }, async () => {
  const out = tmp.make('results');
  const r = await runBench(['bench', '--quick', '--out', out], 280_000);
  assert.equal(r.code, 0, `bench --quick failed:\n${r.stdout}\n${r.stderr}`);
  const files = fs.readdirSync(out).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1, 'one results file');
  const report = JSON.parse(fs.readFileSync(path.join(out, files[0]!), 'utf8')) as Record<string, unknown>;
  assert.equal(report['version'], 1);
  assert.equal(report['quick'], true);
  assert.ok(['gnu-time', 'resource-usage-hook'].includes(report['rssMethod'] as string));
  const machine = report['machine'] as Record<string, unknown>;
  assert.ok(isNumber(machine['cores']) && machine['cores'] >= 1);
  const cases = report['cases'] as { name: string; status: string; figures: Record<string, unknown>[]; notes: string[] }[];
  assert.deepEqual(cases.map((c) => c.name), ['idle', 'deliver', 'breaker', 'seed', 'drain', 'memory', 'reconcile', 'fleet', 'kafka']);
  for (const c of cases) {
    assert.ok(c.status === 'ok' || (c.name === 'breaker' && c.status === 'pending'), `${c.name}: ${c.status} ${c.notes.join('; ')}`);
    if (c.status !== 'ok') continue;
    assert.ok(c.figures.length >= 1, `${c.name} has figures`);
    for (const f of c.figures) {
      assert.equal(typeof f['name'], 'string');
      assert.ok(['ms', 'MiB', 'rows/s'].includes(f['unit'] as string));
      assertSide(f['subject'], `${c.name}.subject`);
      assertSide(f['baseline'], `${c.name}.baseline`);
      assert.ok(isNumber(f['ratio']) && f['ratio'] > 0, `${c.name} ratio`);
      assert.ok(isNumber(f['pairedRatio']) && f['pairedRatio'] > 0, `${c.name} paired ratio`);
      const target = f['target'] as { op: string; ratio: number };
      assert.ok((target.op === '<=' || target.op === '>=') && isNumber(target.ratio));
      assert.equal(typeof f['met'], 'boolean');
    }
  }
  const byName = new Map(cases.map((c) => [c.name, c]));
  // The bound must be measured on exactly the bodies pos-sync sends, or the drain ratio means
  // nothing; and both backlog sizes are measured against it.
  const drain = byName.get('drain')!;
  assert.equal(drain.notes.filter((n) => /pos-sync and the bound sent the same \d+ bytes of bodies/.test(n)).length, 2, drain.notes.join('\n'));
  assert.deepEqual(drain.figures.map((f) => [f['unit'], (f['target'] as { ratio: number }).ratio]), [['rows/s', 0.85], ['rows/s', 0.85]]);
  // Each size also says what one thread must do: pos-sync's CPU time beside both legs'.
  assert.equal(drain.notes.filter((n) => /rows, CPU time: pos-sync \d+ ms, SQLite leg \d+ ms, the central leg's client \(bound-central\.js\) \d+ ms/.test(n)).length, 2, drain.notes.join('\n'));
  // And its floor: the least drain in one thread (least-drain.js), against the bound and pos-sync.
  assert.equal(
    drain.notes.filter((n) => /^floor: the least \d+-row drain in one thread \(least-drain\.js\) [\d,]+ rows\/s = [\d.]+× the overlapped bound \(paired\); pos-sync is [\d.]+× the floor's throughput, CPU time \d+ against \d+ ms$/.test(n)).length,
    2,
    drain.notes.join('\n'),
  );
  assert.deepEqual(byName.get('idle')!.figures.map((f) => f['unit']), ['ms', 'MiB']);
  // Each tick target has its floor beside it: the least such a tick can do on this machine.
  assert.match(byName.get('idle')!.notes.join('\n'), /floor: the least an idle tick can do \(least-tick\.cjs\) [\d.]+ ms = [\d.]+× node -e 0; pos-sync's [\d.]+ ms is [\d.]+× the floor/);
  assert.match(byName.get('deliver')!.notes.join('\n'), /floor: the least a tick delivering 3 rows can do \(least-tick\.cjs\) [\d.]+ ms = [\d.]+× the idle tick; pos-sync's [\d.]+ ms is [\d.]+× the floor/);
  // reconcile counts requests, not only time: a matching day costs exactly two.
  assert.match(byName.get('reconcile')!.notes.join('\n'), /matching day of \d+ sales: 2 requests/);
  assert.match(byName.get('reconcile')!.notes.join('\n'), /3 missing: located in \d+ requests \(documented bound \d+\)/);
  // fleet replays real pos-sync heartbeats under 2,000 names and checks the page lists them all.
  assert.match(byName.get('fleet')!.notes.join('\n'), /captured 3 heartbeats of real pos-sync processes \(OK, DEGRADED, NOT SYNCING\)/);
  assert.match(byName.get('fleet')!.notes.join('\n'), /\/fleet for 2000 tills \(200 NOT REPORTING\)/);
  // kafka counts the requests of publishing in transactions (CI runs the broker).
  assert.match(byName.get('kafka')!.notes.join('\n'), /Kafka requests per pass publishing \d+ events: \d+/);
  assert.match(r.stdout, /ratio .*target/);
});
