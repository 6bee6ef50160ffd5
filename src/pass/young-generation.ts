// Keeps a long drain's peak memory from following its backlog (SPEC §10). V8 (Node 24) grows its
// young generation (new space: two semi-spaces) each time more bytes have survived scavenges than
// it holds, up to a limit taken from the machine's memory: 2 × 64 MiB on a host with a few GiB,
// where Node 20 stopped at 2 × 16 MiB. A pass's garbage dies within its batch, but each scavenge
// finds the batch in flight and the one read ahead alive, so over a long pass the survivors add
// up and the new space keeps doubling: measured after the other memory fixes, a 100,000-row pass
// ended at 2 × 16 MiB and a 1,000,000-row pass at 2 × 32 MiB, 41 MiB more peak RSS for the same
// work (README → Performance). The old generation stays small (~14 MB live); it is not a leak.
//
// The ceiling cannot be lowered once the heap is set up (--max-semi-space-size works on the
// command line only), but how much the new space grows is read at each growth: when it has reached
// the cap, a growth factor of 1 makes further growths no-ops. With 8 MiB semi-spaces a drain's
// scavenges stay short and rare enough to cost it nothing measurable.
//
// node:v8 is fetched with getBuiltinModule on the first check, after a batch was delivered: an idle
// tick never loads it.

/** The largest semi-space a pass lets V8 grow to. A power of two, as V8 doubles it. */
export const SEMI_SPACE_CAP_BYTES = 8 * 1024 * 1024;

/**
 * One per pass, told after each delivered batch: once the new space (both semi-spaces) has grown to
 * two semi-spaces of the cap, stops its growth. The flag holds for the whole process, so a later
 * pass of --watch finds the new space at the cap and only sets it again, once.
 */
export class YoungGenerationCap {
  #capped = false;

  /** Whether the growth is stopped now. */
  afterBatch(): boolean {
    if (this.#capped) return true;
    const v8 = process.getBuiltinModule('node:v8');
    const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (newSpace === undefined || newSpace.space_size < 2 * SEMI_SPACE_CAP_BYTES) return false;
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    this.#capped = true;
    return true;
  }
}
