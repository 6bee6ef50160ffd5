// Which partition an event goes to. The seed published through librdkafka, whose default
// partitioner ("consistent_random") sends a keyed message to CRC-32(key) mod partition count.
// kafkajs's default is Java's murmur2, which would move every `<StoreId>_<ProductId>` key to
// another partition the day a store switches from the seed to pos-sync, and a consumer reading
// one product's events in order would see them out of order across the switch. So pos-sync
// keeps the seed's placement. Pure.

const CRC32_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib and librdkafka compute it). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC32_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The partition librdkafka's default partitioner picks for a non-empty key. */
export function seedPartition(key: string | Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError('partitionCount must be at least 1');
  const bytes = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  return crc32(bytes) % partitionCount;
}
