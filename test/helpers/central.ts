// Helpers for tests that talk to the reference central API (examples/central/server.ts):
// start one that closes itself after the test, build valid events, POST them.

import net from 'node:net';
import { after, before, beforeEach, type TestContext } from 'node:test';

import { startCentral, type CentralOptions, type RunningCentral } from '../../examples/central/server.js';

/** A central that is closed when the test `t` ends. */
export async function useCentral(t: TestContext, options: CentralOptions = {}): Promise<RunningCentral> {
  const central = await startCentral(options);
  t.after(() => central.close());
  return central;
}

/**
 * One central for a whole test file: started before the first test, its faults and records reset
 * before each test, closed after the last. The returned object forwards to it once it runs.
 */
export function centralForFile(options: CentralOptions): RunningCentral {
  let current: RunningCentral | undefined;
  before(async () => {
    current = await startCentral(options);
  });
  after(async () => {
    await current?.close();
  });
  beforeEach(() => {
    current!.resetFaults();
    current!.reset();
  });
  return new Proxy({} as RunningCentral, {
    get(_target, prop) {
      if (!current) throw new Error('the central starts in before(): use it inside a test');
      const value: unknown = Reflect.get(current, prop);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(current) : value;
    },
  });
}

/** A port on 127.0.0.1 that was free a moment ago: connections to it are refused (a central that is down). */
export async function closedPort(): Promise<number> {
  const spare = net.createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const port = (spare.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => spare.close(() => resolve()));
  return port;
}

let counter = 0;

/** A distinct upper-case GUID-like id, like the POS writes (deterministic within a process). */
export function nextId(): string {
  counter++;
  return `00000000-0000-4000-8000-${counter.toString(16).toUpperCase().padStart(12, '0')}`;
}

/** A valid batch-format transaction event (pos-sync-central(7)); `overrides` may also remove keys (undefined). */
export function transactionEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides(
    {
      id: nextId(),
      entity: 'transaction',
      storeId: 'STORE001',
      productId: 'PROD001',
      type: 'Sale',
      occurredAt: '2025-10-21T14:03:11.1234567Z',
      transactionId: 'TX-20251021-0001',
      quantity: 2,
      unitPrice: '12.5',
      totalAmount: '25.0',
      reference: 'REF638652913911234567001',
      notes: null,
      metadata: null,
    },
    overrides,
  );
}

/** A valid batch-format inventory event (pos-sync-central(7)). */
export function inventoryEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides(
    {
      id: nextId(),
      entity: 'inventory',
      storeId: 'STORE001',
      productId: 'PROD001',
      type: 'Sale',
      occurredAt: '2025-10-21T14:03:11.1234567Z',
      previousStock: 40,
      newStock: 38,
      quantityChange: -2,
      reason: 'Sale TX-20251021-0001',
      transactionId: null,
    },
    overrides,
  );
}

/** The seed's single payload, numbers as the seed sends them. */
export function singleEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides(
    {
      transactionId: 'TX-20251021-0002',
      storeId: 'STORE001',
      type: 'Sale',
      timestamp: '2025-10-21T14:05:42.5',
      productId: 'PROD003',
      quantity: 1,
      price: 54.99,
    },
    overrides,
  );
}

function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const event = { ...base, ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete event[key];
  return event;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
}

/** POSTs `body` (JSON-encoded unless a string) to the central's events endpoint. */
export async function post(
  central: RunningCentral,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Answer> {
  const response = await fetch(central.eventsUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-store-id': 'STORE001', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: signal ?? AbortSignal.timeout(5000),
  });
  return answerOf(response);
}

export async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
