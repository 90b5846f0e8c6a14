import type { Latency } from '../stats.js';

export interface EmailResult extends Latency {
  tasks: number;
}
