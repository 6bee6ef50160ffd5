// journald priorities: when stderr is the journal ($JOURNAL_STREAM names its device and inode),
// every line starts with the sd-daemon(3) `<N>` prefix of its level; anywhere else the output is
// byte for byte what it was. The real binary writes to a real file whose device:inode we hand it
// as $JOURNAL_STREAM, exactly the check it makes against systemd's socket.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isJournalStream, journalOutput, linePriority } from '../src/cli/journal.js';
import { BIN, cleanEnv, lines, runCli } from './helpers/cli.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('journal');
after(tmp.cleanup);

describe('line priorities', () => {
  test('logger levels map to syslog priorities; anything else on stderr is an error', () => {
    assert.equal(linePriority('{"time":"2026-01-01T00:00:00.000Z","level":"debug","message":"x"}'), 7);
    assert.equal(linePriority('{"time":"2026-01-01T00:00:00.000Z","level":"info","message":"x"}'), 6);
    assert.equal(linePriority('{"time":"2026-01-01T00:00:00.000Z","level":"warn","message":"x"}'), 4);
    assert.equal(linePriority('{"time":"2026-01-01T00:00:00.000Z","level":"error","message":"x"}'), 3);
    assert.equal(linePriority('pos-sync: the central API refused the credentials (401)'), 3);
    // A field named level later in the line does not decide the priority.
    assert.equal(linePriority('{"time":"t","level":"info","message":"x","field_level":"error"}'), 6);
  });

  test('JOURNAL_STREAM must name exactly this device and inode', () => {
    const stat = { dev: 25n, ino: 123456n };
    assert.equal(isJournalStream('25:123456', stat), true);
    assert.equal(isJournalStream('25:123457', stat), false);
    assert.equal(isJournalStream('26:123456', stat), false);
    assert.equal(isJournalStream(undefined, stat), false);
    assert.equal(isJournalStream('', stat), false);
    assert.equal(isJournalStream('25:123456:1', stat), false);
    assert.equal(isJournalStream('garbage', stat), false);
    assert.equal(isJournalStream('25:123456', undefined), false);
  });

  test('each line gets one prefix, also when a write splits or joins lines', () => {
    const out: string[] = [];
    const journal = journalOutput({ write: (s) => out.push(s) });
    journal.write('{"time":"t","level":"warn","message":"a"}\n{"time":"t","level":"info","message":"b"}\n');
    journal.write('pos-sync: half');
    journal.write(' a line\n');
    assert.equal(out.join(''), '<4>{"time":"t","level":"warn","message":"a"}\n<6>{"time":"t","level":"info","message":"b"}\n<3>pos-sync: half a line\n');
  });
});

/** Runs the binary with stderr on a file; `journal` sets JOURNAL_STREAM to that file's device:inode. */
async function runToFile(args: string[], cwd: string, journal: 'match' | 'other' | 'unset'): Promise<{ code: number | null; stderr: string }> {
  const file = path.join(cwd, `stderr-${journal}.log`);
  const fd = fs.openSync(file, 'w');
  const st = fs.fstatSync(fd, { bigint: true });
  const env = cleanEnv(journal === 'unset' ? {} : { JOURNAL_STREAM: journal === 'match' ? `${st.dev}:${st.ino}` : `${st.dev}:${st.ino + 1n}` });
  if (journal === 'unset') delete env['JOURNAL_STREAM'];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'ignore', fd] });
    child.once('error', reject);
    child.once('close', resolve);
  });
  fs.closeSync(fd);
  return { code, stderr: fs.readFileSync(file, 'utf8') };
}

describe('the binary under journald', () => {
  test('a config error (78): the final pos-sync line is <3>, so journalctl -p err shows it', async () => {
    const cwd = tmp.make();
    fs.writeFileSync(path.join(cwd, '.pos-syncrc.json'), JSON.stringify({ Sync: { BatchSize: 'lots' } }));
    const journal = await runToFile(['sync'], cwd, 'match');
    assert.equal(journal.code, 78);
    const all = lines(journal.stderr);
    assert.equal(all.length, 1, journal.stderr);
    assert.match(all[0]!, /^<3>pos-sync: .*Sync\.BatchSize/);
  });

  test('log lines carry their level; terminals, pipes and files that are not the journal stay unchanged', async () => {
    const cwd = tmp.make();
    fs.mkdirSync(path.join(cwd, 'data'));
    // A central that cannot be reached: retries logged at info, then the error that ends the pass (75).
    // Each run its own state file: the breaker one run opens must not change the next run's lines.
    const args = (run: string): string[] => ['--verbose', '--central-url', 'http://127.0.0.1:9', '--store-id', 'STORE001', '--state-file', `state-${run}.json`, 'sync', '--max-run-seconds', '2'];
    fs.writeFileSync(path.join(cwd, '.pos-syncrc.json'), JSON.stringify({ Sync: { AutoCreateDatabase: true } }));
    const seeded = await runCli(['seed', '--transactions', '3'], { cwd });
    assert.equal(seeded.code, 0, seeded.stderr);
    const journal = await runToFile(args('journal'), cwd, 'match');
    const other = await runToFile(args('other'), cwd, 'other');
    const unset = await runToFile(args('unset'), cwd, 'unset');
    for (const run of [journal, other, unset]) assert.equal(run.code, 75, run.stderr);
    const prefixed = lines(journal.stderr);
    assert.ok(prefixed.length >= 2, journal.stderr);
    for (const line of prefixed) {
      const m = /^<(\d)>(.*)$/.exec(line);
      assert.ok(m, `every line has a priority: ${line}`);
      const rest = m[2]!;
      const level = rest.startsWith('{') ? (JSON.parse(rest) as { level: string }).level : 'error';
      assert.equal(Number(m[1]), { debug: 7, info: 6, warn: 4, error: 3 }[level], line);
    }
    assert.ok(prefixed.some((l) => l.startsWith('<6>{')), 'info lines present');
    assert.ok(prefixed.some((l) => l.startsWith('<3>{') && l.includes('"level":"error"')), 'the error that ends the pass is an error');
    for (const run of [other, unset]) {
      // How many retries fit in the budget varies with the backoff jitter: the count is not compared.
      assert.ok(lines(run.stderr).length >= 2, run.stderr);
      for (const line of lines(run.stderr)) assert.doesNotMatch(line, /^<\d>/, 'no prefix outside the journal');
    }
  });
});
