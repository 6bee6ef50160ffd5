// The reference head office's routes (README "The fleet"): `POST /api/inventory/heartbeat` takes a
// till's heartbeat (the token judged like the events endpoint's, the body against
// man/schemas/heartbeat.schema.json); `/fleet`, `/fleet/till`, `/api/fleet` and `/metrics` show
// the fleet (fleet-page.ts) from bounded memory (fleet.ts).

import type http from 'node:http';
import { readBody } from './body.js';
import { checkHeartbeat, DEFAULT_FLEET, FleetBook, heartbeatSchema, type FleetSettings } from './fleet.js';
import { fleetHtml, fleetJson, fleetMetrics, parseFilter, tillHtml } from './fleet-page.js';

export const HEARTBEAT_PATH = '/api/inventory/heartbeat';
/** A heartbeat is about 1.5 KiB; anything much larger is not one. */
const MAX_HEARTBEAT_BYTES = 64 * 1024;

export interface FleetOptions {
  /** Offer the heartbeat endpoint and the fleet view (default true); false: 404, a central without them. */
  heartbeat?: boolean;
  /** A till silent longer than this is NOT REPORTING (default 300). */
  silenceSeconds?: number;
  /** Heartbeats kept per till, the latest included (default 20). */
  historySize?: number;
  /** Tills remembered at most (default 10,000); past it the one silent longest is forgotten. */
  maxTills?: number;
}

/** What the central's faults say about one request. */
export interface RequestJudgement {
  readonly down: boolean;
  readonly tokenOk: boolean;
}

export class FleetHeartbeats {
  readonly book: FleetBook;
  readonly enabled: boolean;
  /** POSTs to the heartbeat endpoint, whatever the answer (also when it is switched off: 404). */
  posts = 0;
  readonly byStatus: Record<string, number> = {};

  constructor(options: FleetOptions, private readonly now: () => number) {
    const settings: FleetSettings = {
      silenceMs: (options.silenceSeconds ?? DEFAULT_FLEET.silenceMs / 1000) * 1000,
      historySize: options.historySize ?? DEFAULT_FLEET.historySize,
      maxTills: options.maxTills ?? DEFAULT_FLEET.maxTills,
    };
    if (!(settings.silenceMs > 0) || !Number.isInteger(settings.historySize) || settings.historySize < 1 || !Number.isInteger(settings.maxTills) || settings.maxTills < 1) {
      throw new RangeError('fleet: silenceSeconds must be > 0, historySize and maxTills whole numbers ≥ 1');
    }
    this.book = new FleetBook(settings);
    this.enabled = options.heartbeat ?? true;
    if (this.enabled) heartbeatSchema(); // a central that cannot check heartbeats fails at start, not per request
  }

  handles(path: string): boolean {
    return path === HEARTBEAT_PATH || path === '/fleet' || path === '/fleet/till' || path === '/api/fleet' || path === '/metrics';
  }

  async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, judged: RequestJudgement): Promise<void> {
    if (url.pathname === HEARTBEAT_PATH) {
      this.posts += req.method === 'POST' ? 1 : 0;
      const status = await this.heartbeat(req, res, judged);
      this.byStatus[String(status)] = (this.byStatus[String(status)] ?? 0) + 1;
      return;
    }
    if (!this.enabled) return send(res, 404, 'application/json; charset=utf-8', JSON.stringify({ error: `no route ${req.method ?? ''} ${url.pathname}` }));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json; charset=utf-8', JSON.stringify({ error: 'use GET' }), { allow: 'GET, HEAD' });
    const now = this.now();
    if (url.pathname === '/metrics') return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', fleetMetrics(this.book, now));
    if (url.pathname === '/fleet/till') {
      const html = tillHtml(this.book, now, url.searchParams.get('store') ?? '', url.searchParams.get('till') ?? '');
      if (html === null) return send(res, 404, 'text/html; charset=utf-8', '<!DOCTYPE html><title>No such till</title><p>No heartbeat from this till. <a href="/fleet">Fleet</a></p>');
      return send(res, 200, 'text/html; charset=utf-8', html);
    }
    const filter = parseFilter(url);
    if (typeof filter === 'string') return send(res, 400, 'text/plain; charset=utf-8', `${filter}\n`);
    if (url.pathname === '/api/fleet') return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(fleetJson(this.book, now, filter)));
    return send(res, 200, 'text/html; charset=utf-8', fleetHtml(this.book, now, filter));
  }

  /** Answers one POST; returns the status sent. */
  private async heartbeat(req: http.IncomingMessage, res: http.ServerResponse, judged: RequestJudgement): Promise<number> {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): number => {
      send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
      return status;
    };
    if (!this.enabled) return json(404, { error: `no route ${req.method ?? ''} ${HEARTBEAT_PATH}` });
    if (req.method !== 'POST') return json(405, { error: `use POST on ${HEARTBEAT_PATH}` }, { allow: 'POST' });
    if (judged.down) return json(503, { error: 'down' });
    const body = await readBody(req, MAX_HEARTBEAT_BYTES);
    if (!judged.tokenOk) {
      // Not trusted, so not shown as the till's standing; who it claims to be is listed apart.
      this.book.refuse(header(req, 'x-store-id') ?? '(none)', claimedTill(body), 401, this.now());
      return json(401, { error: 'missing or wrong Authorization: Bearer token' });
    }
    if (body === null) return json(413, { error: `a heartbeat is at most ${MAX_HEARTBEAT_BYTES} bytes` });
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return json(415, { error: 'Content-Type must be application/json' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return json(400, { error: 'body is not JSON' });
    }
    const checked = checkHeartbeat(parsed);
    if (Array.isArray(checked)) return json(422, { error: 'not a heartbeat (man/schemas/heartbeat.schema.json)', problems: checked });
    if (header(req, 'x-store-id') !== checked.storeId) return json(422, { error: 'X-Store-Id and storeId differ' });
    this.book.receive(checked, this.now());
    return json(200, { accepted: true });
  }
}

function header(req: http.IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

/** The tillId a refused heartbeat claims, if it can be read at all (shown, never trusted). */
function claimedTill(body: Buffer | null): string | null {
  if (body === null) return null;
  try {
    const t = (JSON.parse(body.toString('utf8')) as { tillId?: unknown }).tillId;
    return typeof t === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(t) ? t : null;
  } catch {
    return null;
  }
}

function send(res: http.ServerResponse, status: number, type: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
