// What a node reports of its system with each heartbeat: load average per core and the memory
// available (/proc/meminfo MemAvailable, what the kernel says can be given to new processes).

import { readFileSync } from 'node:fs';
import { availableParallelism, freemem, loadavg } from 'node:os';
import type { SystemLoad } from '../model/farm.js';

function memAvailable(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: what node knows
  }
  return freemem();
}

export function systemLoad(): SystemLoad {
  const [oneMinute = 0] = loadavg();
  return { loadPerCore: Math.round((oneMinute / availableParallelism()) * 100) / 100, memAvailableBytes: memAvailable() };
}
