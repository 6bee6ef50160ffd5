// The machine's name (os.hostname(): the kernel's UTS node name), read from /proc where it is:
// an idle pass then needs no node:os.

import { readFileSync } from 'node:fs';

export function hostName(): string {
  try {
    return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  } catch {
    return process.getBuiltinModule('node:os').hostname();
  }
}
