// The one validated, typed configuration every command receives.

import type { HealthThresholds } from '../domain/health.js';

export type ApiFormat = 'batch' | 'single';

export interface Config {
  readonly storeId: string;
  /** This till within the store: Sync.TillId, else the host name. */
  readonly tillId: string;
  readonly endpoints: { readonly events: string; readonly health: string; readonly summary: string; readonly heartbeat: string };
  /** Sync.HeartbeatSeconds: a heartbeat at most this often; 0: none. */
  readonly heartbeatSeconds: number;
  /** IANA zone of the store's calendar days; null: unset (every command then uses the machine's zone). */
  readonly timeZone: string | null;
  readonly db: {
    readonly path: string;
    readonly autoCreate: boolean;
    readonly autoMigrate: boolean;
    readonly busyTimeoutMs: number;
  };
  readonly stateFile: string;
  readonly metricsFile: string | null;
  readonly http: {
    readonly format: ApiFormat;
    readonly timeoutMs: number;
    readonly maxRetries: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly token: string | null;
    readonly caFile: string | null;
    readonly clientCertFile: string | null;
    readonly clientKeyFile: string | null;
  };
  readonly sync: {
    readonly batchSize: number;
    readonly maxRunMs: number;
    readonly maxRejections: number;
    /** Passes with a strike before a row that fails alone is quarantined (domain/quarantine.ts). */
    readonly quarantineAfterPasses: number;
    readonly retryDelayMs: number;
    readonly intervalSeconds: number;
    readonly transactions: boolean;
    readonly inventory: boolean;
    /** Sync.OfflineDeadlineHours in seconds; null: no deadline (domain/offline-deadline.ts). */
    readonly offlineDeadlineSeconds: number | null;
  };
  readonly breaker: {
    readonly failureThreshold: number;
    readonly breakMs: number;
    readonly maxBreakMs: number;
  };
  readonly retention: { readonly dataDays: number; readonly syncedRowDays: number | null };
  /** health's and status's thresholds (domain/health.ts), its own timeout, the reconcile age. */
  readonly health: HealthThresholds & {
    readonly timeoutMs: number;
    /** Age of the last reconcile that makes a WARNING; null: not checked. */
    readonly reconcileMaxAgeSeconds: number | null;
  };
  readonly kafka: {
    readonly enabled: boolean;
    readonly bootstrapServers: readonly string[];
    readonly topic: string;
    readonly producerConfig: Readonly<Record<string, string>>;
  };
  readonly detailedLogging: boolean;
}

export type SourceKind = 'default' | 'file' | 'environment' | 'flag' | 'derived';

export interface ValueSource {
  readonly kind: SourceKind;
  /** The file path, environment variable name or flag, for messages. */
  readonly name: string;
}

export interface Resolved {
  readonly value: unknown;
  readonly source: ValueSource;
}
