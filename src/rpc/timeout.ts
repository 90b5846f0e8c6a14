/** The contract's RPC timeout: default and bounds, in seconds. */
export const RPC_TIMEOUT_SECONDS = { default: 180, min: 5, max: 300 } as const;

/** A requested RPC timeout (seconds, fractions allowed) clamped into [5, 300]; 180 when not given. */
export function clampTimeoutSeconds(requested?: number): number {
  if (requested === undefined || Number.isNaN(requested)) return RPC_TIMEOUT_SECONDS.default;
  return Math.min(RPC_TIMEOUT_SECONDS.max, Math.max(RPC_TIMEOUT_SECONDS.min, requested));
}
