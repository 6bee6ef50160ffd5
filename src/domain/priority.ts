// Sales first (man page, sync): when both entities wait, a pass sends sales batches ahead of
// inventory updates, and inventory gets one batch after every few sales batches so a long sales
// backlog never starves it. Order within an entity is the POS's (the batch source's cursor). Pure.

import type { Entity } from './rows.js';

/** Sales batches before each inventory batch while both wait: inventory gets at least 1 in 5. */
export const SALES_BATCHES_PER_INVENTORY_BATCH = 4;

/**
 * The entities of the next cycle of batches, in order, given those not yet drained (in
 * ENTITIES order). A cycle gives every entity left at least one batch, so a judgement made after
 * it (refusals.ts: one reason for every row) has tried both.
 */
export function batchCycle(live: readonly Entity[]): Entity[] {
  if (!live.includes('transaction') || !live.includes('inventory')) return [...live];
  return [...Array<Entity>(SALES_BATCHES_PER_INVENTORY_BATCH).fill('transaction'), 'inventory'];
}
