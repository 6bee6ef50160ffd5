// `pos-sync health`: checks for monitoring (pos-sync(1) COMMANDS). The checks run at the same time, each with
// its own time limit, under one overall guard, so the command ends within 10 s even when the
// central accepts a connection and never answers. The verdict is judgeHealth's (pure).
// Monitoring Plugins exit codes: whatever stops the checks is UNKNOWN (3), even a usage error
// (src/cli/errors.ts). The whole command: its options and --help, its run, the checks, its output.

import type { CentralClient } from '../central/client.js';
import { centralClient } from '../cli/clients.js';
import type { Config } from '../config/types.js';
import {
  formatPerfdata,
  HEALTH_EXIT,
  judgeHealth,
  LABELS,
  type CentralFacts,
  type CheckResult,
  type DatabaseFacts,
  type HealthStatus,
  type KafkaFacts,
  type TopicReplication,
  type PerfValue,
} from '../domain/health.js';
import { storeTimeZone } from '../domain/localtime.js';
import { latestTrace, timerFor } from '../domain/verdict.js';
import { escapeControl } from '../domain/redact.js';
import { systemClock, type Clock } from '../domain/time.js';
import { plainHttpCredentialWarning } from '../config/secrets.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Peeked } from '../state/file.js';
import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync health                          for NRPE / Icinga: a status line, a line per check, perfdata
  pos-sync --json health

Exit codes (Monitoring Plugins):
  0   OK
  1   WARNING
  2   CRITICAL: database or central unreachable, credentials refused, configuration or I/O error in the last pass,
      no pass at all for Sync.Health.NoPassSeconds (the timer does not run), Kafka trouble that waiting cannot heal
  3   UNKNOWN: the checks could not run (bad configuration or option)`;

export const health = defineCommand<Record<string, never>>({
  options: [],
  help: HELP,
  run: async (ctx) => {
    let result: HealthResult;
    try {
      const { config, file } = await ctx.loadConfig();
      const [{ inspectDatabaseInWorker }, { databaseIdentity, peekState }, { SCHEMA_VERSION }, { readReconcileFacts }, { lastPassTrace }] = await Promise.all([
        import('../store/inspect.js'),
        import('../state/file.js'),
        import('../store/migrations.js'),
        import('../state/reconcile-record.js'),
        import('../pass/trace.js'),
      ]);
      result = await runHealth({
        config,
        clock: systemClock,
        log: ctx.log,
        checkDatabase: (ms) => inspectDatabaseInWorker(config.db.path, Math.min(config.db.busyTimeoutMs, config.health.timeoutMs), Date.now(), ms),
        central: () => centralClient(config),
        checkKafka: config.kafka.enabled ? (ms) => kafkaReachable(config, ctx.log, ms) : null,
        readState: () => peekState(config.stateFile, databaseIdentity(config.db.path)),
        readTrace: () => lastPassTrace(config.stateFile),
        configFile: file,
        readReconcile: () => readReconcileFacts(config.stateFile),
        expectedSchemaVersion: SCHEMA_VERSION,
      });
    } catch (err) {
      // Whatever stops the checks (a config error, a bug) is UNKNOWN to a monitoring system.
      const message = err instanceof Error ? err.message : String(err);
      ctx.log.error(message);
      result = unknownHealth(message);
    }
    ctx.print(result, () => renderHealth(result));
    return result.exitCode;
  },
});

/** The whole command's budget, below the 10 s a monitoring system may allow, leaving time to start and print. */
export const HEALTH_GUARD_MS = 8_500;

export interface HealthDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  /** The database check; it must end by itself within `timeoutMs` (see store/inspect.ts). */
  readonly checkDatabase: (timeoutMs: number) => Promise<DatabaseFacts>;
  /** Created on first use; health always uses it. */
  readonly central: () => Promise<CentralClient>;
  /** Resolves when a Kafka broker answers; null when Kafka is disabled. */
  readonly checkKafka: ((timeoutMs: number) => Promise<TopicReplication | null | void>) | null;
  /** Reads the state file without changing it. */
  readonly readState: () => Peeked;
  /** When the last pass left its trace (the state file's mtime, pass/trace.ts), or null. */
  readonly readTrace?: () => number | null;
  /** The config file read, or null (names the timer to enable). */
  readonly configFile?: string | null;
  readonly expectedSchemaVersion: number;
  /** The last reconciliation, read only when Sync.Health.ReconcileMaxAgeHours is set. */
  readonly readReconcile?: () => import('../domain/health.js').ReconcileFacts;
  /** Overrides HEALTH_GUARD_MS (tests). */
  readonly guardMs?: number;
}

export interface HealthResult {
  /** The version of the JSON document (man/schemas/health.schema.json). */
  readonly schemaVersion: 1;
  readonly command: 'health';
  readonly exitCode: 0 | 1 | 2 | 3;
  readonly status: HealthStatus;
  readonly summary: string;
  readonly checks: readonly CheckResult[];
  readonly perfdata: readonly PerfValue[];
  readonly durationMs: number;
  /** The last pass met an answer that was not about the rows (exit 78, no row penalised); until a pass succeeds. */
  readonly notAboutRows?: string;
}

/** Settles with `onTimeout()` when `work` takes longer than `ms`; the timer never outlives the race. */
function within<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(onTimeout()), Math.max(0, ms));
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => undefined, // the callers' promises never reject; this only keeps Node quiet
    );
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runHealth(deps: HealthDeps): Promise<HealthResult> {
  const { config, clock } = deps;
  const start = clock.now();
  const guard = deps.guardMs ?? HEALTH_GUARD_MS;
  const netTimeout = Math.min(config.health.timeoutMs, guard);
  const url = config.endpoints.health;

  const database = within<DatabaseFacts>(
    deps.checkDatabase(guard).catch((err: unknown) => ({ kind: 'error', error: message(err) })),
    guard,
    () => ({ kind: 'timeout', afterMs: guard }),
  );

  let client: CentralClient | undefined;
  const centralWork = (async (): Promise<CentralFacts> => {
    try {
      client = await deps.central();
      const t0 = clock.now();
      const answer = await client.health(netTimeout);
      const ms = clock.now() - t0;
      if (answer.status !== null) return { kind: 'answered', status: answer.status, ms, url };
      return { kind: 'error', error: answer.error ?? `cannot reach ${url}`, url };
    } catch (err) {
      return { kind: 'error', error: `cannot reach ${url}: ${message(err)}`, url };
    }
  })();
  // The client's own timeout should end it first; this is the backstop for a hang below it.
  const central = within<CentralFacts>(centralWork, Math.min(netTimeout + 250, guard), () => ({ kind: 'timeout', afterMs: netTimeout, url }));

  const check = deps.checkKafka;
  const kafka: Promise<KafkaFacts> =
    check === null
      ? Promise.resolve({ kind: 'disabled' })
      : within<KafkaFacts>(
          (async (): Promise<KafkaFacts> => {
            const t0 = clock.now();
            try {
              const topic = await check(netTimeout);
              return { kind: 'ok', ms: clock.now() - t0, topic: topic ?? null };
            } catch (err) {
              return { kind: 'error', error: message(err), configuration: err instanceof ConfigError };
            }
          })(),
          Math.min(netTimeout + 1_500, guard), // the publisher's close takes up to a second after its own timeout
          () => ({ kind: 'timeout', afterMs: netTimeout }),
        );

  // A credential over plain http:// to another machine: said once, never the verdict's business.
  const plain = plainHttpCredentialWarning(config);
  if (plain !== null) deps.log.warn(plain);
  const peeked = deps.readState();
  const reconcile = config.health.reconcileMaxAgeSeconds === null || !deps.readReconcile ? undefined : { facts: deps.readReconcile(), maxAgeSeconds: config.health.reconcileMaxAgeSeconds };
  const [db, c, k] = await Promise.all([database, central, kafka]);
  // Kept-alive connections closed: nothing keeps the process alive once the verdict is known.
  client?.close?.();
  const now = clock.now();
  const verdict = judgeHealth({
    now,
    expectedSchemaVersion: deps.expectedSchemaVersion,
    database: db,
    central: c,
    kafka: k,
    timeZone: storeTimeZone(config.timeZone),
    state: {
      breaker: peeked.state.breaker,
      lastSuccessAt: peeked.state.lastSuccessAt,
      found: peeked.found,
      problem: peeked.problem,
      leftAlone: peeked.leftAlone === true,
      path: config.stateFile,
      lastPass: peeked.state.lastPass,
      lastTraceAt: latestTrace(peeked.state.lastPass?.at ?? null, deps.readTrace?.() ?? null),
      timer: timerFor(deps.configFile ?? null),
    },
    breakerSettings: config.breaker,
    thresholds: config.health,
    ...(reconcile ? { reconcile } : {}),
    offlineDeadlineSeconds: config.sync.offlineDeadlineSeconds,
  });
  return {
    schemaVersion: 1,
    command: 'health',
    exitCode: HEALTH_EXIT[verdict.status],
    status: verdict.status,
    summary: verdict.summary,
    checks: verdict.checks,
    perfdata: verdict.perfdata,
    durationMs: now - start,
    ...(peeked.state.notAboutRows ? { notAboutRows: peeked.state.notAboutRows.reason } : {}),
  };
}

/** The result of a health run that could not check anything (bad configuration, bad options). */
export function unknownHealth(reason: string): HealthResult {
  return { schemaVersion: 1, command: 'health', exitCode: 3, status: 'UNKNOWN', summary: reason, checks: [], perfdata: [], durationMs: 0 };
}

/** The Kafka check: the publisher's check(), loaded only when Kafka is enabled. */
export async function kafkaReachable(config: Config, log: Logger, timeoutMs: number, now: () => number = Date.now): Promise<TopicReplication | null> {
  const { createKafkaPublisher } = await import('../kafka/publisher.js');
  const publisher = await createKafkaPublisher(config.kafka, { deadline: now() + timeoutMs, log, now });
  try {
    // Not only a broker answering: this user, over TLS and SASL as configured, may see the topic.
    return await publisher.checkTopic(timeoutMs);
  } finally {
    await publisher.close();
  }
}

export function renderHealth(r: HealthResult): string {
  // Monitoring Plugins output: the status line first, a line per check, perfdata last.
  // Summaries and messages quote what the central answered: escaped for the terminal.
  const lines = [`POS-SYNC ${r.status} - ${escapeControl(r.summary)}`];
  for (const c of r.checks) lines.push(`${c.status.padEnd(9)}${LABELS[c.name]}: ${escapeControl(c.message)}`);
  if (r.notAboutRows) lines.push(`WARNING  last pass: ${escapeControl(r.notAboutRows)}`);
  if (r.perfdata.length > 0) lines.push(`| ${formatPerfdata(r.perfdata)}`);
  return lines.join('\n') + '\n';
}
