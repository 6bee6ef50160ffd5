// refusalReason: the central's reason for one row out of the stored refusal text, reason first.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refusalReason } from '../src/domain/refusal.js';

const ID = '651ECA5B-96B0-4CD4-ADCC-FAA022B44AAF';

describe('refusalReason', () => {
  const rows: { name: string; stored: string; expected: string }[] = [
    {
      name: "the row's own entry in a batch answer",
      stored: `HTTP 422: {"error":"2 of 2 events refused","rejected":[{"id":"OTHER","error":"no"},{"id":"${ID}","index":1,"error":"price must be positive"}]}`,
      expected: 'HTTP 422: price must be positive',
    },
    { name: 'a lower-case id in the answer', stored: `HTTP 200: {"rejected":[{"id":"${ID.toLowerCase()}","error":"unknown product"}]}`, expected: 'HTTP 200: unknown product' },
    { name: 'a single-row answer with only an error', stored: 'HTTP 400: {"error":"quantity missing"}', expected: 'HTTP 400: quantity missing' },
    { name: 'a problem+json title', stored: 'HTTP 409: {"title":"conflict","status":409}', expected: 'HTTP 409: conflict' },
    {
      name: 'a body cut short when stored, the entry whole',
      stored: `HTTP 422: {"error":"1 of 1 events refused","rejected":[{"id":"${ID}","index":0,"error":"refused by the central"},{"id":"X","err…`,
      expected: 'HTTP 422: refused by the central',
    },
    { name: 'a body that is not JSON', stored: 'HTTP 413: <html>too large</html>', expected: 'HTTP 413: <html>too large</html>' },
    { name: 'a local refusal (no HTTP)', stored: 'TotalAmount is not a number', expected: 'TotalAmount is not a number' },
    { name: 'JSON without any reason', stored: 'HTTP 422: {"rejected":[]}', expected: 'HTTP 422: {"rejected":[]}' },
    { name: 'JSON that is not an object', stored: 'HTTP 422: [1,2]', expected: 'HTTP 422: [1,2]' },
  ];
  for (const r of rows) test(r.name, () => assert.equal(refusalReason(r.stored, ID), r.expected));
});
