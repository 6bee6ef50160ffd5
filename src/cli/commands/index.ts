// Every command of pos-sync, in the order --help lists them. A new command is one module beside
// this one and one line here.

import { cleanup } from './cleanup.js';
import type { CommandSpec } from './command.js';
import { config } from './config.js';
import { health } from './health.js';
import { reconcile } from './reconcile.js';
import { requeue } from './requeue.js';
import { seed } from './seed.js';
import { status } from './status.js';
import { sync } from './sync.js';

export const COMMANDS: readonly CommandSpec[] = [sync, seed, status, health, cleanup, requeue, reconcile, config];
