// Keeps a long drain's peak memory from following its backlog (SPEC §10). V8 (Node 24) grows its
// young generation (new space: two semi-spaces) each time more bytes have survived scavenges than
// it holds, up to a limit taken from the machine's memory: 2 × 64 MiB on a host with a few GiB,
// where Node 20 stopped at 2 × 16 MiB. A pass allocates ~2.5 KB per row that dies within its batch,
// and each scavenge keeps a few MiB alive (the batch in flight, the one read ahead, the HTTP
// answers), so a 100,000-row pass ends with 2 × 32 MiB and a 1,000,000-row pass reaches 2 × 64 MiB:
// 64 MiB more peak memory for the same work, which is garbage all the time. The old generation
// stays small (~14 MB live); it is not a leak.
//
// The ceiling cannot be lowered once the heap is set up (--max-semi-space-size works on the
// command line only), but how much the new space grows is read at each growth: when it has reached
// the cap, a growth factor of 1 makes further growths no-ops. Node 20's 16 MiB semi-space keeps
// scavenges rare enough that they cost a drain little (measured: README → Performance).
//
// node:v8 is fetched with getBuiltinModule on the first check, after a batch was delivered: an idle
// tick never loads it.

/** The largest semi-space a pass lets V8 grow to: Node 20's limit. A power of two, as V8 doubles. */
export const SEMI_SPACE_CAP_BYTES = 8 * 1024 * 1024;

/** What this module needs of node:v8 (a parameter, so a test can watch a real heap with another cap). */
export interface HeapControl {
  getHeapSpaceStatistics(): readonly { readonly space_name: string; readonly space_size: number }[];
  setFlagsFromString(flags: string): void;
}

let capped = false;

/**
 * Called after each delivered batch: once the new space (both semi-spaces) has grown to twice
 * `semiSpaceCap`, stops its growth for the rest of the process (also the later passes of --watch).
 * Returns whether the growth is stopped now.
 */
export function capYoungGeneration(semiSpaceCap = SEMI_SPACE_CAP_BYTES, control?: HeapControl): boolean {
  if (capped) return true;
  const v8 = control ?? process.getBuiltinModule('node:v8');
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (newSpace === undefined || newSpace.space_size < 2 * semiSpaceCap) return false;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  capped = true;
  return true;
}
