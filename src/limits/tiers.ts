/** Rate-limit tier by lifetime spend: the highest tier whose threshold the workspace has reached. */

import type { Tier } from "../config/types.ts";

/** `tiers` sorted by threshold ascending (as compiled); the first has threshold 0. */
export function tierForSpend(tiers: readonly Tier[], lifetimeSpendMicrocents: number): Tier {
  let chosen = tiers[0] as Tier;
  for (const tier of tiers) if (lifetimeSpendMicrocents >= tier.minLifetimeSpendMicrocents) chosen = tier;
  return chosen;
}
