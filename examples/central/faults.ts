// Fault injection for the reference central API: what can go wrong, and a pure function that
// decides, from the configured faults and one random draw, what goes wrong with one request.
// Randomness is a seeded generator passed in, so a test that sets a seed sees the same sequence
// of faults on every run.

/** One planned outcome in `script`: `"ok"`, a status code, or one of the named misbehaviours. */
export type ScriptStep =
  | 'ok'
  | 'drop'
  | 'drop-after-store'
  | 'hang'
  | 'truncated'
  | 'not-json'
  | 'malformed-rejected'
  | 'oversize'
  | 'stall-body'
  | 'drip-body'
  | number;

export type RetryAfterFormat = 'seconds' | 'http-date';

export interface Faults {
  /** Answer every POST and GET /health with 503 (admin routes keep working, to flip back). */
  down: boolean;
  /** Answer every POST with this status and no processing (e.g. 403, 404, 405, 503). */
  forceStatus: number | null;
  /** When set, a POST without `Authorization: Bearer <this>` gets 401. */
  requireToken: string | null;
  /** Share of POSTs answered with `failStatus` before anything is stored. */
  failRate: number;
  failStatus: number;
  /** Share of POSTs answered 429 before anything is stored. */
  rateLimitRate: number;
  /** Retry-After sent with a 429; null sends none. */
  retryAfterSeconds: number | null;
  retryAfterFormat: RetryAfterFormat;
  /** Share of POSTs whose connection is destroyed without a response, before storing. */
  dropRate: number;
  /** Share of POSTs stored, then the connection destroyed: a lost 2xx. */
  dropAfterStoreRate: number;
  /** Share of POSTs never answered (until the client gives up or the central closes). */
  hangRate: number;
  /** Share of POSTs whose response waits `slowMs` first (independent of the other faults). */
  slowRate: number;
  slowMs: number;
  /** Shares of POSTs stored, then answered 2xx with a cut-off body / a body that is not JSON /
   *  a `rejected` list that is not a list of {id, error} for this batch. */
  truncateRate: number;
  notJsonRate: number;
  malformedRejectedRate: number;
  /** Event ids the central refuses: 422 for a request holding any (or see partialRejects). */
  refuseIds: readonly string[];
  /** Event ids that break the central: a request holding any of them gets `failIdsStatus`
   *  (default 500) before anything is stored — a central-side bug triggered by one row's data. */
  failIds: readonly string[];
  failIdsStatus: number;
  /** Instead of 422, answer 200 with `rejected: [{id, error}]` for refused or invalid events and
   *  store the rest. */
  partialRejects: boolean;
  /** A batch with more events gets 413; null means no limit. */
  maxBatch: number | null;
  /** Status of a successful POST (200, 201, 202 or 204; 204 has no body). */
  successStatus: number;
  /** GET /health never answers (for health-check timeouts). */
  hangHealth: boolean;
  /** GET /health sends its status line and headers, then stalls the body ("stall") or sends it a
   *  byte every 250 ms ("drip"); "ok" answers normally. */
  healthBody: 'ok' | 'stall' | 'drip';
  /** The error text given for refuseIds (default: "refused by the central (refuseIds)"). */
  refuseReason: string | null;
  /** Every POST is answered 502, before storing, with a body that echoes the request's
   *  Authorization header after this many filler characters (a proxy echoing headers). */
  echoAuthorizationAt: number | null;
  /** Outcomes for the next POSTs, consumed one per request before any random draw. */
  script: readonly ScriptStep[];
}

/** What `setFaults` and `POST /_admin/faults` take: any subset of Faults, and `seed` to restart
 *  the random sequence. */
export type FaultsUpdate = Partial<Faults> & { seed?: number };

export const NO_FAULTS: Faults = Object.freeze({
  down: false,
  forceStatus: null,
  requireToken: null,
  failRate: 0,
  failStatus: 503,
  rateLimitRate: 0,
  retryAfterSeconds: null,
  retryAfterFormat: 'seconds',
  dropRate: 0,
  dropAfterStoreRate: 0,
  hangRate: 0,
  slowRate: 0,
  slowMs: 0,
  truncateRate: 0,
  notJsonRate: 0,
  malformedRejectedRate: 0,
  refuseIds: Object.freeze([]) as readonly string[],
  failIds: Object.freeze([]) as readonly string[],
  failIdsStatus: 500,
  partialRejects: false,
  maxBatch: null,
  successStatus: 200,
  hangHealth: false,
  healthBody: 'ok',
  refuseReason: null,
  echoAuthorizationAt: null,
  script: Object.freeze([]) as readonly ScriptStep[],
});

/** The action taken on one POST. "pre-store" actions happen before the body is looked at. */
export type FaultAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'status'; readonly status: number; readonly fault: string }
  | { readonly kind: 'drop'; readonly afterStore: boolean }
  | { readonly kind: 'hang' }
  | { readonly kind: 'bad-body'; readonly body: BadBody };

/** 2xx answers sent after storing that are not a whole acknowledgement (or not one in time). */
export type BadBody = 'truncated' | 'not-json' | 'malformed-rejected' | 'oversize' | 'stall-body' | 'drip-body';

export interface FaultDecision {
  readonly action: FaultAction;
  /** Wait this long before answering (0 = at once). */
  readonly delayMs: number;
  /** Whether the decision consumed a script step (the caller then shifts the script). */
  readonly scripted: boolean;
}

const NONE: FaultAction = { kind: 'none' };

/**
 * Decides what goes wrong with one POST. Pure: `outcomeDraw` and `slowDraw` are uniform numbers
 * in [0, 1) from the seeded generator; the caller draws both for every request that gets here,
 * so the sequence of faults depends only on the seed and the number of requests.
 */
export function decideFault(faults: Faults, outcomeDraw: number, slowDraw: number): FaultDecision {
  const delayMs = slowDraw < faults.slowRate ? faults.slowMs : 0;
  if (faults.down) return { action: statusAction(503, 'down'), delayMs, scripted: false };
  if (faults.forceStatus !== null) {
    return { action: statusAction(faults.forceStatus, 'forced'), delayMs, scripted: false };
  }
  const step = faults.script[0];
  if (step !== undefined) return { action: scriptAction(step), delayMs, scripted: true };
  return { action: randomAction(faults, outcomeDraw), delayMs, scripted: false };
}

function statusAction(status: number, fault: string): FaultAction {
  return { kind: 'status', status, fault };
}

function scriptAction(step: ScriptStep): FaultAction {
  if (typeof step === 'number') return statusAction(step, 'script');
  switch (step) {
    case 'ok':
      return NONE;
    case 'drop':
      return { kind: 'drop', afterStore: false };
    case 'drop-after-store':
      return { kind: 'drop', afterStore: true };
    case 'hang':
      return { kind: 'hang' };
    case 'truncated':
    case 'not-json':
    case 'malformed-rejected':
    case 'oversize':
    case 'stall-body':
    case 'drip-body':
      return { kind: 'bad-body', body: step };
  }
}

/** The shares are laid end to end on [0, 1); the draw falls into one of them or past them all. */
function randomAction(faults: Faults, draw: number): FaultAction {
  const bands: Array<[number, FaultAction]> = [
    [faults.dropRate, { kind: 'drop', afterStore: false }],
    [faults.dropAfterStoreRate, { kind: 'drop', afterStore: true }],
    [faults.hangRate, { kind: 'hang' }],
    [faults.failRate, statusAction(faults.failStatus, 'fail')],
    [faults.rateLimitRate, statusAction(429, 'rate-limit')],
    [faults.truncateRate, { kind: 'bad-body', body: 'truncated' }],
    [faults.notJsonRate, { kind: 'bad-body', body: 'not-json' }],
    [faults.malformedRejectedRate, { kind: 'bad-body', body: 'malformed-rejected' }],
  ];
  let edge = 0;
  for (const [share, action] of bands) {
    edge += share;
    if (draw < edge) return action;
  }
  return NONE;
}

/** The Retry-After header for a 429, or null when none is configured. */
export function retryAfterHeader(faults: Faults, nowMs: number): string | null {
  if (faults.retryAfterSeconds === null) return null;
  if (faults.retryAfterFormat === 'seconds') return String(faults.retryAfterSeconds);
  return new Date(nowMs + faults.retryAfterSeconds * 1000).toUTCString();
}

/**
 * A small seeded generator (a Weyl sequence through an integer mixing function): uniform enough
 * for picking faults, and the same numbers for the same seed on every run and platform.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 4294967296;
  };
}

// --- Validating an update (it may come from JSON over HTTP or from command-line flags) ---

const RATE_KEYS = [
  'failRate',
  'rateLimitRate',
  'dropRate',
  'dropAfterStoreRate',
  'hangRate',
  'slowRate',
  'truncateRate',
  'notJsonRate',
  'malformedRejectedRate',
] as const;

/** The shares that compete for one draw; together they must not exceed 1. */
const OUTCOME_RATE_KEYS = RATE_KEYS.filter((key) => key !== 'slowRate');

const NAMED_STEPS: ReadonlySet<string> = new Set([
  'ok',
  'drop',
  'drop-after-store',
  'hang',
  'truncated',
  'not-json',
  'malformed-rejected',
  'oversize',
  'stall-body',
  'drip-body',
]);

type Check = (value: unknown) => string | null;

const isBool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const isRate: Check = (v) =>
  typeof v === 'number' && v >= 0 && v <= 1 ? null : 'must be a number from 0 to 1';
const isStatus: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 599
    ? null
    : 'must be an HTTP status code (100-599)';
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null ? null : check(v);
const isNonNegative: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'must be a number >= 0';
const isPositiveInt: Check = (v) =>
  Number.isInteger(v) && (v as number) > 0 ? null : 'must be a whole number > 0';

const CHECKS: Record<keyof Faults | 'seed', Check> = {
  down: isBool,
  forceStatus: orNull(isStatus),
  requireToken: orNull((v) => (typeof v === 'string' && v !== '' ? null : 'must be a non-empty string')),
  failRate: isRate,
  failStatus: (v) =>
    Number.isInteger(v) && (v as number) >= 500 && (v as number) <= 599 ? null : 'must be a 5xx status',
  rateLimitRate: isRate,
  retryAfterSeconds: orNull((v) => (Number.isInteger(v) && (v as number) >= 0 ? null : 'must be a whole number >= 0')),
  retryAfterFormat: (v) => (v === 'seconds' || v === 'http-date' ? null : 'must be "seconds" or "http-date"'),
  dropRate: isRate,
  dropAfterStoreRate: isRate,
  hangRate: isRate,
  slowRate: isRate,
  slowMs: isNonNegative,
  truncateRate: isRate,
  notJsonRate: isRate,
  malformedRejectedRate: isRate,
  refuseIds: (v) =>
    Array.isArray(v) && v.every((id) => typeof id === 'string') ? null : 'must be a list of id strings',
  failIds: (v) =>
    Array.isArray(v) && v.every((id) => typeof id === 'string') ? null : 'must be a list of id strings',
  failIdsStatus: (v) =>
    Number.isInteger(v) && (v as number) >= 500 && (v as number) <= 599 ? null : 'must be a 5xx status',
  partialRejects: isBool,
  maxBatch: orNull(isPositiveInt),
  successStatus: (v) => ([200, 201, 202, 204].includes(v as number) ? null : 'must be 200, 201, 202 or 204'),
  hangHealth: isBool,
  healthBody: (v) => (v === 'ok' || v === 'stall' || v === 'drip' ? null : 'must be "ok", "stall" or "drip"'),
  refuseReason: orNull((v) => (typeof v === 'string' && v !== '' ? null : 'must be a non-empty string')),
  echoAuthorizationAt: orNull((v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 2_000_000 ? null : 'must be a whole number from 0 to 2000000')),
  script: (v) =>
    Array.isArray(v) &&
    v.every((step) => (typeof step === 'string' ? NAMED_STEPS.has(step) : isStatus(step) === null))
      ? null
      : `must be a list of status codes or of ${[...NAMED_STEPS].join(', ')}`,
  seed: (v) => (Number.isInteger(v) ? null : 'must be a whole number'),
};

export class FaultsError extends Error {
  override readonly name = 'FaultsError';
}

/** Checks an update from outside (JSON, flags); throws FaultsError naming the first bad key. */
export function parseFaultsUpdate(input: unknown): FaultsUpdate {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultsError('faults must be a JSON object');
  }
  for (const [key, value] of Object.entries(input)) {
    const check = (CHECKS as Record<string, Check | undefined>)[key];
    if (check === undefined) {
      throw new FaultsError(`unknown fault "${key}"; known: ${Object.keys(CHECKS).join(', ')}`);
    }
    const problem = check(value);
    if (problem !== null) throw new FaultsError(`${key} ${problem}`);
  }
  return input as FaultsUpdate;
}

/** Applies an update, refusing one whose competing shares add up to more than 1. */
export function mergeFaults(current: Faults, update: FaultsUpdate): Faults {
  const { seed: _seed, ...changes } = parseFaultsUpdate(update);
  const next: Faults = {
    ...current,
    ...changes,
    refuseIds: Object.freeze([...(changes.refuseIds ?? current.refuseIds)]),
    failIds: Object.freeze([...(changes.failIds ?? current.failIds)]),
    script: Object.freeze([...(changes.script ?? current.script)]),
  };
  const total = OUTCOME_RATE_KEYS.reduce((sum, key) => sum + next[key], 0);
  if (total > 1 + 1e-9) {
    throw new FaultsError(`the fault rates ${OUTCOME_RATE_KEYS.join(', ')} add up to ${total}, more than 1`);
  }
  return Object.freeze(next);
}
