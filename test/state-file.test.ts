// The state file (src/state/): its validating parser never throws whatever the bytes; writes are
// atomic and private; and a bad file of any kind — empty, cut short, wrong version, random bytes,
// a directory, a path that cannot be reached — never stops a pass: it is moved aside (when it
// can be), reported with exactly one warning, and the breaker starts closed.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { centralForFile } from './helpers/central.js';
import fc from 'fast-check';
import { runSync } from '../src/pass/pass.js';
import type { Config } from '../src/config/types.js';
import { CLOSED, type BreakerState } from '../src/domain/breaker.js';
import { openStateFile, peekState } from '../src/state/file.js';
import { EMPTY_STATE, parseState, serializeState, STATE_VERSION, worthSaving, type SavedState } from '../src/state/format.js';
import { lines, runCli } from './helpers/cli.js';
import { pendingIds } from './helpers/db.js';
import { memoryLogger, seedDb, syncDeps, testConfig } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('state-file');
const central = centralForFile({ seed: 7 });
after(tmp.cleanup);

const T0 = Date.parse('2026-11-25T12:00:00.000Z');

const OPEN: BreakerState = { state: 'open', consecutiveFailures: 4, openedAt: T0, nextProbeAt: T0 + 60_000, consecutiveOpens: 2, lastFailure: 'HTTP 503' };
const SAMPLE: SavedState = {
  breaker: OPEN,
  lastPass: { at: T0 + 5, exitCode: 75, outcome: 'unavailable', delivered: 3, refused: 1, durationMs: 812, error: 'HTTP 503: busy', since: T0 - 5_000 },
  lastSuccessAt: T0 - 10_000,
};

describe('parseState', () => {
  test('what serializeState writes reads back the same', () => {
    for (const s of [EMPTY_STATE, SAMPLE, { ...SAMPLE, lastPass: null, lastSuccessAt: null }]) {
      const parsed = parseState(serializeState(s));
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.deepEqual(parsed.state, s);
    }
  });

  test('the file is versioned JSON a person can read', () => {
    const doc = JSON.parse(serializeState(SAMPLE)) as Record<string, unknown>;
    assert.equal(doc['version'], STATE_VERSION);
    assert.deepEqual(doc['breaker'], {
      state: 'open',
      consecutiveFailures: 4,
      openedAt: '2026-11-25T12:00:00.000Z',
      nextProbeAt: '2026-11-25T12:01:00.000Z',
      consecutiveOpens: 2,
      lastFailure: 'HTTP 503',
    });
    assert.equal(doc['lastSuccessAt'], '2026-11-25T11:59:50.000Z');
  });

  const good = JSON.parse(serializeState(SAMPLE)) as Record<string, unknown>;
  const breaker = good['breaker'] as Record<string, unknown>;
  const bad: { name: string; text: string; reason: RegExp }[] = [
    { name: 'empty', text: '', reason: /empty/ },
    { name: 'only blanks', text: ' \n\t ', reason: /empty/ },
    { name: 'cut short', text: serializeState(SAMPLE).slice(0, 40), reason: /not valid JSON/ },
    { name: 'NUL bytes (a torn write on some file systems)', text: '\0'.repeat(600), reason: /not valid JSON/ },
    { name: 'version 2', text: JSON.stringify({ ...good, version: 2 }), reason: /version 2 is not 1/ },
    { name: 'version 0', text: JSON.stringify({ ...good, version: 0 }), reason: /version 0/ },
    { name: 'version "1" (a string)', text: JSON.stringify({ ...good, version: '1' }), reason: /version "1"/ },
    { name: 'no version', text: JSON.stringify({ breaker }), reason: /version null/ },
    { name: 'an array', text: '[1,2,3]', reason: /not an object/ },
    { name: 'a number', text: '42', reason: /not an object/ },
    { name: 'null', text: 'null', reason: /not an object/ },
    { name: 'no breaker', text: JSON.stringify({ version: 1 }), reason: /breaker is not an object/ },
    { name: 'unknown breaker state', text: JSON.stringify({ ...good, breaker: { ...breaker, state: 'halfOpen' } }), reason: /breaker.state/ },
    { name: 'open without a probe time', text: JSON.stringify({ ...good, breaker: { ...breaker, nextProbeAt: null } }), reason: /needs openedAt and nextProbeAt/ },
    { name: 'negative failures', text: JSON.stringify({ ...good, breaker: { ...breaker, consecutiveFailures: -1 } }), reason: /consecutiveFailures/ },
    { name: 'fractional opens', text: JSON.stringify({ ...good, breaker: { ...breaker, consecutiveOpens: 1.5 } }), reason: /consecutiveOpens/ },
    { name: 'a time that is not ISO UTC', text: JSON.stringify({ ...good, breaker: { ...breaker, openedAt: '25/11/2026' } }), reason: /openedAt/ },
    { name: 'an impossible date', text: JSON.stringify({ ...good, lastSuccessAt: '2026-13-45T99:00:00Z' }), reason: /lastSuccessAt/ },
    { name: 'a pass without a time', text: JSON.stringify({ ...good, lastPass: { ...(good['lastPass'] as object), at: null } }), reason: /lastPass.at/ },
    { name: 'an exit code above 255', text: JSON.stringify({ ...good, lastPass: { ...(good['lastPass'] as object), exitCode: 300 } }), reason: /exitCode/ },
    { name: 'deep nesting', text: '['.repeat(100_000), reason: /too large|not valid JSON|cannot be read/ },
  ];
  for (const b of bad) {
    test(`rejects: ${b.name}`, () => {
      const parsed = parseState(b.text);
      assert.ok(!parsed.ok, 'parsed');
      assert.match(parsed.reason, b.reason);
    });
  }

  test('every cut-short prefix of a valid file is rejected, never half-trusted', () => {
    const text = serializeState(SAMPLE);
    for (let n = 0; n < text.trimEnd().length; n++) assert.equal(parseState(text.slice(0, n)).ok, false, `prefix of ${n}`);
  });

  test('a byte-order mark and unknown keys are accepted', () => {
    const parsed = parseState(`\ufeff${JSON.stringify({ ...good, addedLater: { x: 1 } })}`);
    assert.ok(parsed.ok);
  });

  test('random bytes and random JSON never throw out of it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const r = parseState(Buffer.from(bytes).toString('utf8'));
        return typeof r.ok === 'boolean';
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const r = parseState(JSON.stringify({ version: 1, breaker: value, lastPass: value, lastSuccessAt: value }));
        return typeof r.ok === 'boolean';
      }),
      { numRuns: 1000 },
    );
  });
});

describe('worthSaving: a quiet pass rewrites the file only when something a reader acts on changed', () => {
  const prev: SavedState = {
    breaker: CLOSED,
    lastPass: { at: T0, exitCode: 0, outcome: 'drained', delivered: 0, refused: 0, durationMs: 40, error: null, since: T0 },
    lastSuccessAt: T0,
  };
  const idle = (at: number, extra: Partial<NonNullable<SavedState['lastPass']>> = {}): SavedState => ({
    ...prev,
    lastPass: { ...prev.lastPass!, at, durationMs: 37, ...extra },
    lastSuccessAt: at,
  });
  const rows: { name: string; next: SavedState; quiet: boolean; now: number; expected: boolean }[] = [
    { name: 'a pass that did something always saves', next: idle(T0 + 10_000), quiet: false, now: T0 + 10_000, expected: true },
    { name: 'the same idle outcome 10 s later: skipped', next: idle(T0 + 10_000), quiet: true, now: T0 + 10_000, expected: false },
    { name: 'the same idle outcome 60 s later: refreshed', next: idle(T0 + 60_000), quiet: true, now: T0 + 60_000, expected: true },
    { name: 'another exit code', next: idle(T0 + 10_000, { exitCode: 78, outcome: 'misconfigured' }), quiet: true, now: T0 + 10_000, expected: true },
    { name: 'another error text', next: idle(T0 + 10_000, { error: 'x' }), quiet: true, now: T0 + 10_000, expected: true },
    { name: 'the breaker changed', next: { ...idle(T0 + 10_000), breaker: OPEN }, quiet: true, now: T0 + 10_000, expected: true },
    { name: 'the clock went back: refreshed', next: idle(T0 - 5_000), quiet: true, now: T0 - 5_000, expected: true },
    { name: 'nothing saved before', next: idle(T0), quiet: true, now: T0, expected: true },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const before = r.name === 'nothing saved before' ? EMPTY_STATE : prev;
      assert.equal(worthSaving(before, r.next, r.quiet, r.now, 60_000), r.expected);
    });
  }
});

describe('writing', () => {
  test('atomic replace: mode 0640 (the POS group reads it), no temporary file left, the old content replaced whole', () => {
    const dir = tmp.make();
    const file = path.join(dir, 'pos-sync.state.json');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    const log = memoryLogger();
    const store = openStateFile(file, { log, now: () => T0 });
    assert.equal(store.save(SAMPLE), true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(dir), ['pos-sync.state.json']);
    assert.deepEqual(peekState(file), { state: SAMPLE, found: true, problem: null });
    assert.deepEqual(log.lines, []);
  });

  test('a missing file is a closed breaker, silently', () => {
    const log = memoryLogger();
    const store = openStateFile(path.join(tmp.make(), 'none.json'), { log, now: () => T0 });
    assert.deepEqual(store.load(), EMPTY_STATE);
    assert.deepEqual(log.lines, []);
  });

  test('a folder that does not exist: one warning however often it is written', () => {
    const log = memoryLogger();
    const store = openStateFile(path.join(tmp.make(), 'missing', 'state.json'), { log, now: () => T0 });
    assert.equal(store.save(SAMPLE), false);
    assert.equal(store.save(SAMPLE), false);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0]!.message, /cannot write the state file .*ENOENT/);
  });
});

/** A fresh database with pending rows, its config, and the state file path. */
function store(): { dir: string; db: string; config: Config; state: string } {
  const dir = tmp.make();
  const db = seedDb(path.join(dir, 'POS_Local.db'), 4, 3, 11);
  const config = testConfig(db, central.url);
  return { dir, db, config, state: config.stateFile };
}

function asideCopies(stateFile: string): string[] {
  const base = path.basename(stateFile);
  return fs.readdirSync(path.dirname(stateFile)).filter((f) => f.startsWith(`${base}.corrupt-`));
}


describe('a bad state file never stops a pass', () => {
  // content: the bad file's bytes, which the copy moved aside must keep.
  const kinds: { name: string; content: string | Buffer }[] = [
    { name: 'empty', content: '' },
    { name: 'half-written JSON', content: serializeState(SAMPLE).slice(0, 57) },
    { name: 'wrong version', content: JSON.stringify({ version: 99, breaker: {} }) },
    { name: 'random bytes', content: Buffer.from([0xff, 0xfe, 0x00, 0x9c, 0x22, 0x7b]) },
    { name: 'an open breaker in a file too large to be ours', content: serializeState(SAMPLE) + ' '.repeat(70_000) },
  ];
  for (const kind of kinds) {
    test(`${kind.name}: moved aside, one warning, the pass delivers, a good file is written`, async () => {
      const s = store();
      fs.writeFileSync(s.state, kind.content);
      const deps = syncDeps(s.config);
      const result = await runSync({}, deps);
      assert.equal(result.exitCode, 0, result.error ?? '');
      assert.deepEqual(pendingIds(s.db), []);
      const warnings = deps.log.lines.filter((l) => l.level === 'warn');
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(warnings[0]!.message, /the state file .* moved aside to .*\.corrupt-\d{8}T\d{9}Z; the circuit breaker starts closed/);
      const aside = asideCopies(s.state);
      assert.equal(aside.length, 1);
      assert.deepEqual(fs.readFileSync(path.join(path.dirname(s.state), aside[0]!)), Buffer.from(kind.content));
      const now = peekState(s.state);
      assert.equal(now.problem, null);
      assert.equal(now.state.breaker.state, 'closed');
      assert.equal(now.state.lastPass?.delivered, 7);
    });
  }

});

describe('what is not a matter of content is left alone and named: the pass ends before the database, in one line', () => {
  const kinds: { name: string; make: (file: string, dir: string) => void; code: number; line: RegExp }[] = [
    { name: 'a folder in its place', make: (f) => fs.mkdirSync(path.join(f, 'inside'), { recursive: true }), code: 74, line: /the state file .* is a folder, not a regular file — pos-sync leaves it alone: remove it/ },
    { name: 'a FIFO in its place', make: (f) => execFileSync('mkfifo', [f]), code: 74, line: /the state file .* is a FIFO, not a regular file — / },
    { name: 'a symbolic link to another file', make: (f, d) => (fs.writeFileSync(path.join(d, 'secret'), 'root only', { mode: 0o600 }), fs.symlinkSync(path.join(d, 'secret'), f)), code: 74, line: /the state file .* is a symbolic link \(to .*secret\); pos-sync never reads or writes through one — / },
    { name: 'a path under a regular file (ENOTDIR)', make: (_f, d) => fs.writeFileSync(path.join(d, 'not-a-folder'), ''), code: 74, line: /the state file cannot open .*not-a-folder.* \(ENOTDIR\)/ },
    {
      name: 'a state file written for another database',
      make: (f) => fs.writeFileSync(f, serializeState(SAMPLE, '/var/lib/pos/other.db')),
      code: 78,
      line: /the state file .* was written for the database \/var\/lib\/pos\/other\.db, not .*POS_Local\.db — give each database its own state file/,
    },
  ];
  for (const kind of kinds) {
    test(`${kind.name}: exit ${kind.code}, nothing sent, the file untouched`, async () => {
      const s = store();
      const stateFile = kind.name.includes('ENOTDIR') ? path.join(s.dir, 'not-a-folder', 'pos-sync.state.json') : s.state;
      kind.make(stateFile, s.dir);
      const before = fs.lstatSync(path.dirname(stateFile) === s.dir ? stateFile : path.join(s.dir, 'not-a-folder'));
      const posts = central.stats().posts;
      const at = Date.now();
      const r = await runCli(['--db', s.db, '--state-file', stateFile, '--central-url', central.url, 'sync'], { cwd: s.dir, timeoutMs: 10_000 });
      assert.ok(Date.now() - at < 5_000, 'at once, never waiting on a FIFO');
      assert.equal(r.code, kind.code, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, kind.line);
      assert.equal(central.stats().posts, posts, 'nothing sent');
      assert.equal(pendingIds(s.db).length, 7);
      const after = fs.lstatSync(path.dirname(stateFile) === s.dir ? stateFile : path.join(s.dir, 'not-a-folder'));
      assert.deepEqual([after.ino, after.mtimeMs, after.mode], [before.ino, before.mtimeMs, before.mode], 'left exactly as it was');
      assert.deepEqual(asideCopies(s.state), []);
      // The link's target (only that case makes one) is untouched.
      const target = path.join(s.dir, 'secret');
      assert.equal(fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null, kind.name.includes('link') ? 'root only' : null);
      // status and health read it without a wrong verdict: they name the problem.
      const status = await runCli(['--db', s.db, '--state-file', stateFile, '--json', 'status'], { cwd: s.dir, timeoutMs: 10_000 });
      assert.match(status.stdout, /"problem": ".*(folder|FIFO|symbolic link|ENOTDIR|written for the database)/, status.stdout);
    });
  }

  test('through the binary: exactly one warning line on stderr, exit 0', async () => {
    const s = store();
    fs.writeFileSync(s.state, '{"version":1,"breaker":{"state":"op');
    const r = await runCli(['--db', s.db, '--central-url', central.url, 'sync'], { cwd: s.dir });
    assert.equal(r.code, 0, r.stderr);
    const warnings = lines(r.stderr).filter((l) => (JSON.parse(l) as { level: string }).level === 'warn');
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0]!, /is not valid JSON \(cut short by a crash\?\): moved aside/);
    assert.equal(asideCopies(s.state).length, 1);
    assert.deepEqual(pendingIds(s.db), []);
  });
});

describe('saving after every pass, cheaply when idle', () => {
  test('an idle pass after an idle pass does not rewrite the file; one that delivers does', async () => {
    const s = store();
    const first = await runSync({}, syncDeps(s.config));
    assert.equal(first.exitCode, 0);
    const after1 = fs.statSync(s.state);
    const idle1 = await runSync({}, syncDeps(s.config)); // nothing pending: a new summary (idle ≠ delivering)
    assert.equal(idle1.requests, 0);
    const after2 = fs.statSync(s.state);
    assert.notEqual(after2.ino, after1.ino, 'the first idle pass records its outcome');
    const idle2 = await runSync({}, syncDeps(s.config));
    assert.equal(idle2.requests, 0);
    assert.equal(fs.statSync(s.state).ino, after2.ino, 'the same idle outcome is not rewritten');
    seedDb(s.db, 1, 0, 12);
    await runSync({}, syncDeps(s.config));
    assert.notEqual(fs.statSync(s.state).ino, after2.ino);
    assert.equal(peekState(s.state).state.lastPass?.delivered, 1);
  });

  test('a dry run neither reads destructively nor writes', async () => {
    const s = store();
    fs.writeFileSync(s.state, 'garbage');
    const deps = syncDeps(s.config);
    const r = await runSync({ dryRun: true }, deps);
    assert.equal(r.exitCode, 0);
    assert.equal(fs.readFileSync(s.state, 'utf8'), 'garbage');
    assert.deepEqual(asideCopies(s.state), []);
    assert.deepEqual(deps.log.lines.filter((l) => l.level === 'warn'), []);
  });
});
