// Realistic sample rows for `pos-sync seed`: a small catalogue, sales/returns/purchases/
// adjustments with totals = quantity × unit price in exact cents, and inventory updates whose
// PreviousStock → NewStock chain per product continues from the stock already recorded.

import type { Random } from './time.js';
import { formatDbTime } from './time.js';

export interface Product {
  readonly id: string;
  readonly priceCents: number;
}

export const CATALOGUE: readonly Product[] = [
  { id: 'PROD001', priceCents: 1250 },
  { id: 'PROD002', priceCents: 525 },
  { id: 'PROD003', priceCents: 5499 },
  { id: 'PROD004', priceCents: 199 },
  { id: 'PROD005', priceCents: 349 },
  { id: 'PROD006', priceCents: 1899 },
  { id: 'PROD007', priceCents: 89 },
  { id: 'PROD008', priceCents: 2450 },
  { id: 'PROD009', priceCents: 675 },
  { id: 'PROD010', priceCents: 12999 },
];

/** mulberry32: tiny, fast and repeatable for --random-seed. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = '0123456789ABCDEF';

/** An upper-case version-4 GUID text, as EF Core stores Guid, drawn from `random`. */
export function guid(random: Random): string {
  let out = '';
  for (let i = 0; i < 32; i++) {
    let nibble = Math.floor(random() * 16);
    if (i === 12) nibble = 4;
    if (i === 16) nibble = 8 + (nibble & 3);
    out += HEX[nibble];
    if (i === 7 || i === 11 || i === 15 || i === 19) out += '-';
  }
  return out;
}

/**
 * The ids of one `seed` run: version-4 GUIDs whose 122 random bits come from xoshiro128**, a
 * generator with 128 bits of state (four 32-bit words per id, 4-dimensionally equidistributed, so
 * no two ids of a run share their 128 drawn bits). mulberry32 above has 32 bits of state: at most
 * 2^32 different GUIDs, and a 200,000-row seed drew the same one twice. Seeded from the whole
 * `seed` (up to 2^53) through splitmix32, so `--random-seed` repeats the ids too.
 */
export function sampleIds(seed: number): () => string {
  let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b9);
  const splitmix32 = (): number => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix32();
  let s1 = splitmix32();
  let s2 = splitmix32();
  let s3 = splitmix32();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the one state xoshiro never leaves
  const next = (): number => {
    const out = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return out;
  };
  return () => {
    const w0 = next();
    const w1 = (next() & 0xffff0fff) | 0x00004000; // version 4
    const w2 = (next() & 0x3fffffff) | 0x80000000; // variant 10
    const w3 = next();
    const h = hex8(w0) + hex8(w1) + hex8(w2) + hex8(w3);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
}

function rotl(v: number, k: number): number {
  return (v << k) | (v >>> (32 - k));
}

function hex8(v: number): string {
  return (v >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

export function centsToText(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export interface SampleTransaction {
  readonly Id: string;
  readonly TransactionId: string;
  readonly StoreId: string;
  readonly ProductId: string;
  readonly TransactionType: string;
  readonly Quantity: number;
  readonly UnitPrice: string;
  readonly TotalAmount: string;
  readonly TransactionDate: string;
  readonly CreatedAt: string;
  readonly Metadata: string | null;
  readonly Reference: string;
  readonly Notes: string | null;
}

export interface SampleInventoryUpdate {
  readonly Id: string;
  readonly StoreId: string;
  readonly ProductId: string;
  readonly PreviousStock: number;
  readonly NewStock: number;
  readonly UpdateType: string;
  readonly UpdateDate: string;
  readonly CreatedAt: string;
  readonly Reason: string;
  readonly TransactionId: string | null;
}

const TYPES: readonly { type: string; weight: number }[] = [
  { type: 'Sale', weight: 80 },
  { type: 'Return', weight: 8 },
  { type: 'Purchase', weight: 7 },
  { type: 'Adjustment', weight: 5 },
];

function pickType(random: Random): string {
  let r = random() * 100;
  for (const t of TYPES) {
    if ((r -= t.weight) < 0) return t.type;
  }
  return 'Sale';
}

function yyyymmdd(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}

/** Transactions spread over the last hour before `now`, in the order a till writes them. */
export function* sampleTransactions(count: number, storeId: string, now: number, random: Random, newId: () => string): Generator<SampleTransaction> {
  const step = count > 0 ? Math.max(1, Math.floor(3_600_000 / count)) : 1;
  let at = now - step * count;
  for (let n = 1; n <= count; n++) {
    at += step;
    const product = CATALOGUE[Math.floor(random() * CATALOGUE.length)]!;
    const type = pickType(random);
    const quantity = type === 'Purchase' ? 10 + Math.floor(random() * 40) : 1 + Math.floor(random() * 5);
    const register = `R${1 + Math.floor(random() * 4)}`;
    yield {
      Id: newId(),
      TransactionId: `TX-${yyyymmdd(at)}-${String(n).padStart(6, '0')}`,
      StoreId: storeId,
      ProductId: product.id,
      TransactionType: type,
      Quantity: quantity,
      UnitPrice: centsToText(product.priceCents),
      TotalAmount: centsToText(product.priceCents * quantity),
      TransactionDate: formatDbTime(at),
      CreatedAt: formatDbTime(at + 5),
      Metadata: random() < 0.5 ? `{"register":"${register}","cashier":"C${10 + Math.floor(random() * 20)}"}` : null,
      Reference: `REF${at}${String(n).padStart(3, '0')}`,
      Notes: type === 'Return' ? `${SAMPLE_MARK} Customer return` : type === 'Adjustment' ? `${SAMPLE_MARK} Stock count correction` : SAMPLE_MARK,
    };
  }
}

/**
 * Every row `seed` makes carries this at the start of its Notes (transactions) or Reason
 * (inventory updates): sample data stays recognisable in the POS database, in `status`, and at
 * the central, and `seed` can tell a database of its own rows from a real till's (pos-sync-operations(7) THE LOCAL DATABASE).
 */
export const SAMPLE_MARK = '[pos-sync sample]';

const UPDATE_TYPES = ['Sale', 'Restock', 'Adjustment', 'Damage'] as const;

/** Inventory updates continuing each product's stock chain from `stock` (mutated as it goes). */
export function* sampleInventoryUpdates(
  count: number,
  storeId: string,
  now: number,
  random: Random,
  stock: Map<string, number>,
  newId: () => string,
): Generator<SampleInventoryUpdate> {
  const step = count > 0 ? Math.max(1, Math.floor(3_600_000 / count)) : 1;
  let at = now - step * count;
  for (let n = 0; n < count; n++) {
    at += step;
    const product = CATALOGUE[Math.floor(random() * CATALOGUE.length)]!;
    const previous = stock.get(product.id) ?? 50 + Math.floor(random() * 50);
    let type: (typeof UPDATE_TYPES)[number] = UPDATE_TYPES[Math.floor(random() * UPDATE_TYPES.length)]!;
    if (previous === 0 && type !== 'Restock') type = 'Restock'; // nothing left to sell or lose
    const change = type === 'Restock' ? 12 + Math.floor(random() * 36) : -Math.min(previous, 1 + Math.floor(random() * 4));
    const next = previous + change;
    stock.set(product.id, next);
    yield {
      Id: newId(),
      StoreId: storeId,
      ProductId: product.id,
      PreviousStock: previous,
      NewStock: next,
      UpdateType: type,
      UpdateDate: formatDbTime(at),
      CreatedAt: formatDbTime(at + 3),
      Reason: `${SAMPLE_MARK} ${type === 'Restock' ? 'Weekly delivery' : type === 'Sale' ? 'Till sale' : type === 'Damage' ? 'Damaged in store' : 'Stock count'}`,
      TransactionId: null,
    };
  }
}
