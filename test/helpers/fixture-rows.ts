// Rows of ../shared/fixtures/seed-efcore.sql (copied in test/fixtures/) as better-sqlite3 reads
// them, for the pure tests that map a row to an event or a Kafka message.

import type { InventoryRow } from '../../src/domain/rows.js';

/** The fixture's first inventory update: the stock change of sale TX-20251021-0001. */
export const FIXTURE_SALE_UPDATE: InventoryRow = {
  rowid: 1,
  Id: '5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9',
  StoreId: 'STORE001',
  ProductId: 'PROD001',
  PreviousStock: 40,
  NewStock: 38,
  UpdateType: 'Sale',
  UpdateDate: '2025-10-21 14:03:11.1234567',
  CreatedAt: '2025-10-21 14:03:11.2000000',
  Reason: 'Sale TX-20251021-0001',
  TransactionId: '9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A',
};
