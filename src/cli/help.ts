// What each command's --help adds after its options: examples and the exit codes it can end
// with (SPEC §9). Text only, so the help stays in one place and the man page can be checked
// against it.

const SYNC_CODES = `Exit codes:
  0   every row tried was delivered, or nothing was due
  65  the central refused some rows (the rest were delivered)
  74  local I/O: the database is missing (no file is created unless Sync.AutoCreateDatabase), unreadable or full
  75  try later: central unreachable, circuit breaker open, another pass holds the lock
  77  the central refused the credentials
  78  configuration error
  64  usage error; 1 a bug`;

const COMMON = `  64  usage error
  74  the database is missing or unreadable
  78  configuration error
  1   a bug (--verbose shows the stack)`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  sync: `
Examples:
  pos-sync --db /var/lib/pos/POS_Local.db --central-url https://central.example sync
  pos-sync sync --dry-run                  what would be sent, nothing changed
  pos-sync sync --force                    try now although the circuit breaker is open
  pos-sync --json sync | jq .delivered

${SYNC_CODES}
A failed pass ends with one line: pos-sync: <what failed> — <what to do>.`,
  seed: `
Examples:
  pos-sync --db /tmp/lab.db seed --transactions 100 --inventory 20 --random-seed 7

Exit codes:
  0   seeded (the database is created when missing)
${COMMON}`,
  status: `
The first three lines answer: is it working (OK / DEGRADED / NOT SYNCING), since when (the last
success, in the store's time zone, Sync.TimeZone), what to do next.

Examples:
  pos-sync status
  pos-sync status --dead-letters           which rows were dead-lettered and why, and the requeue line
  pos-sync --json status | jq -r .verdict

Exit codes:
  0   OK
  1   DEGRADED: dead letters, refused rows waiting, a backlog past its warning, a failing pass, Kafka trouble
  2   NOT SYNCING: no pass yet, credentials refused, configuration or local I/O error, breaker open, no success for too long
${COMMON}`,
  health: `
Examples:
  pos-sync health                          for NRPE / Icinga: a status line, a line per check, perfdata
  pos-sync --json health

Exit codes (Monitoring Plugins):
  0   OK
  1   WARNING
  2   CRITICAL: database or central unreachable, credentials refused, configuration or I/O error in the last pass, Kafka trouble that waiting cannot heal
  3   UNKNOWN: the checks could not run (bad configuration or option)`,
  cleanup: `
Examples:
  pos-sync cleanup --dry-run
  pos-sync cleanup --synced-older-than 90 --vacuum

Exit codes:
  0   done
  75  a sync holds the lock: try later
${COMMON}`,
  requeue: `
Examples:
  pos-sync status --dead-letters           find the ids and the reasons first
  pos-sync requeue --id 651ECA5B-96B0-4CD4-ADCC-FAA022B44AAF
  pos-sync requeue --all

Exit codes:
  0   requeued (or nothing to requeue)
  64  an id names no row (the others are requeued), or neither/both of --all and --id
  74  the database is missing or unreadable
  78  configuration error`,
  config: `
Examples:
  pos-sync config                          every setting, its value and where it came from
  Kafka__ProducerConfig__sasl.password=… pos-sync --config appsettings.json config

Exit codes:
  0   the configuration is valid
  78  invalid: the table marks every invalid value
  64  usage error`,
};
