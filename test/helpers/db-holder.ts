// Another process holding a database locked: opens it, runs BEGIN EXCLUSIVE, prints "locked",
// and keeps the transaction open for <holdMs> (or until SIGTERM), then rolls back and exits.
//
//   node dist/test/helpers/db-holder.js --hold-db <db> <holdMs>
//
// node --test runs every file under dist/test/, this one included: without --hold-db it does
// nothing.

import Sqlite from 'better-sqlite3';

if (process.argv[2] === '--hold-db') {
  const [, , , file, holdMs] = process.argv;
  const db = new Sqlite(file!, { fileMustExist: true });
  db.exec('BEGIN EXCLUSIVE');
  process.stdout.write('locked\n');
  const release = (): void => {
    db.exec('ROLLBACK');
    db.close();
    process.exit(0);
  };
  const timer = setTimeout(release, Number(holdMs));
  process.on('SIGTERM', () => {
    clearTimeout(timer);
    release();
  });
}
