// The central's summary endpoint (README "Reconciliation"), seen from pos-sync: one GET per
// question, bounded in time (connect, headers and body within the request's timeout) and in size
// (the body is read with a byte cap), the answer validated before anything trusts it.
//
//   GET <Sync.SummaryEndpoint>?store=S&entity=transaction|inventory&from=ISO&to=ISO[&list=ids]
//   → 200 {"count": n, "totalAmount": "decimal", "digest": "64 hex"[, "rows": [{"id", "amount"}]]}

import ky from 'ky';
import { readBounded, requestSignal } from './bounded.js';
import { describeNetworkError, tlsHint } from './client.js';
import { isSecretHeader } from '../config/secrets.js';
import { ConfigError, CredentialsError, TempFailError } from '../errors.js';
import { scrub } from '../log.js';
import { urlSecrets } from '../domain/redact.js';
import type { Entity } from '../domain/rows.js';
import { parseDecimal, parseDigest, type ListedRow, type Range, type Summary } from '../domain/reconcile.js';

export interface SummarySettings {
  readonly url: string;
  readonly storeId: string;
  readonly token: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch?: typeof fetch;
}

/** A summary is a few hundred bytes; a listing of LIST_LIMIT rows well under 100 KiB. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class NoSummaryEndpointError extends ConfigError {}

export interface SummaryClient {
  summary(entity: Entity, range: Range, timeoutMs: number): Promise<Summary>;
  rows(entity: Entity, range: Range, timeoutMs: number): Promise<ListedRow[]>;
  /** Requests made so far. */
  readonly requests: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates `{count, totalAmount, digest}`; a message naming what is wrong, or the summary. */
export function parseSummary(body: unknown): Summary | string {
  if (!isRecord(body)) return 'not a JSON object';
  const { count, totalAmount, digest } = body;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) return '"count" is not a whole number';
  const total = typeof totalAmount === 'string' ? parseDecimal(totalAmount) : undefined;
  if (total === undefined) return '"totalAmount" is not decimal text';
  const d = typeof digest === 'string' ? parseDigest(digest) : undefined;
  if (d === undefined) return '"digest" is not 64 hex digits';
  return { count, total, digest: d };
}

export function parseRows(body: unknown): ListedRow[] | string {
  if (!isRecord(body) || !Array.isArray(body['rows'])) return '"rows" is not a list';
  const rows: ListedRow[] = [];
  for (const r of body['rows'] as unknown[]) {
    if (!isRecord(r) || typeof r['id'] !== 'string' || r['id'] === '') return 'a row has no "id"';
    const amount = r['amount'];
    if (amount !== null && (typeof amount !== 'string' || parseDecimal(amount) === undefined)) return `row ${r['id'].slice(0, 60)} has no decimal "amount"`;
    rows.push({ id: r['id'], amount: amount as string | null });
  }
  return rows;
}

export function createSummaryClient(settings: SummarySettings): SummaryClient {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'x-store-id' || (settings.token && lower === 'authorization')) continue;
    headers[name] = value;
  }
  headers['X-Store-Id'] = settings.storeId;
  headers['Accept'] = 'application/json';
  if (settings.token) headers['Authorization'] = `Bearer ${settings.token}`;
  const secrets = [
    ...(settings.token ? [settings.token] : []),
    ...Object.entries(settings.headers).filter(([name, value]) => isSecretHeader(name) && value !== '').map(([, value]) => value),
    ...urlSecrets(settings.url), // user info and query values, which errors name (redact.ts)
  ];
  const http = ky.create({ retry: 0, throwHttpErrors: false, redirect: 'manual', ...(settings.fetch ? { fetch: settings.fetch } : {}) });
  let requests = 0;

  const get = async (entity: Entity, range: Range, list: boolean, timeoutMs: number): Promise<unknown> => {
    const url = new URL(settings.url);
    url.searchParams.set('store', settings.storeId);
    url.searchParams.set('entity', entity);
    url.searchParams.set('from', new Date(range.from).toISOString());
    url.searchParams.set('to', new Date(range.to).toISOString());
    if (list) url.searchParams.set('list', 'ids');
    requests++;
    const timeout = Math.max(1, Math.round(timeoutMs));
    // One deadline for connect, headers and body, and a byte cap (central/bounded.ts, as for POSTs):
    // a central that sends its headers and then trickles the body is cut off all the same.
    const bound = requestSignal(timeout);
    let response: Response;
    let text: string;
    try {
      response = await http.get(url, { timeout: false, signal: bound.signal, headers });
      const body = await readBounded(response, bound.signal, timeout, secrets, MAX_BODY_BYTES);
      if (!body.complete) throw new TempFailError(`the central's summary answer is ${body.problem ?? 'incomplete'}: try again later`);
      text = body.text;
    } catch (err) {
      if (err instanceof TempFailError) throw err;
      const { message, tls, code } = bound.signal.aborted
        ? { message: `no answer from ${settings.url} within ${timeout} ms`, tls: false, code: undefined }
        : describeNetworkError(err, settings.url, timeout);
      if (tls) throw new ConfigError(`${message} (${tlsHint(code ?? '')})`);
      throw new TempFailError(scrub(message, secrets), { hint: 'try again later' });
    } finally {
      bound.clear();
    }
    const status = response.status;
    if (status === 404 || status === 405 || status === 501) {
      throw new NoSummaryEndpointError(`the central does not offer reconciliation: GET ${settings.url} answered HTTP ${status}`, {
        hint: 'set Sync.SummaryEndpoint if the central has the endpoint elsewhere',
      });
    }
    if (status === 401 || status === 403) throw new CredentialsError(`the central refused the credentials for ${settings.url} (HTTP ${status})`);
    if (status === 408 || status === 425 || status === 429 || status >= 500) throw new TempFailError(`the central's summary endpoint answered HTTP ${status}: try again later`);
    if (status < 200 || status > 299) throw new ConfigError(`the central's summary endpoint answered HTTP ${status}: ${scrub(firstLine(text), secrets)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // A proxy's HTML page instead of the central: like a cut-off answer, try again later.
      throw new TempFailError(`the central's summary answer is not JSON: ${scrub(firstLine(text), secrets)}`);
    }
  };

  return {
    get requests() {
      return requests;
    },
    async summary(entity, range, timeoutMs) {
      const parsed = parseSummary(await get(entity, range, false, timeoutMs));
      if (typeof parsed === 'string') throw new TempFailError(`the central's summary answer is malformed: ${parsed}`);
      return parsed;
    },
    async rows(entity, range, timeoutMs) {
      const parsed = parseRows(await get(entity, range, true, timeoutMs));
      if (typeof parsed === 'string') throw new TempFailError(`the central's id listing is malformed: ${parsed}`);
      return parsed;
    },
  };
}

function firstLine(text: string): string {
  const title = /<title>([^<]{1,200})<\/title>/i.exec(text)?.[1];
  const line = (title ?? text).trim().split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || '(empty body)';
}
