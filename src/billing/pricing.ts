/**
 * Cost of a call, exactly: ceil(Σ tokens × price_per_Mtok_in_µ¢ / 1,000,000), in bigint, rounded up
 * once per call (SPEC §2, §4).
 */

import type { Usage } from "../canonical/usage.ts";
import { toSafeMicrocents, type Microcents } from "./money.ts";

/** Prices in microcents per million tokens. */
export interface Price {
  inputPerMtok: bigint;
  outputPerMtok: bigint;
  cacheReadPerMtok: bigint;
  cacheWritePerMtok: bigint;
}

const TOKENS_PER_MTOK = 1_000_000n;

export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  if (numerator <= 0n) return 0n;
  return (numerator + denominator - 1n) / denominator;
}

/** The exact cost of `usage` at `price`, in microcents (bigint). */
export function costOfUsage(usage: Usage, price: Price): bigint {
  const total =
    BigInt(usage.input) * price.inputPerMtok +
    BigInt(usage.cacheRead) * price.cacheReadPerMtok +
    BigInt(usage.cacheWrite) * price.cacheWritePerMtok +
    BigInt(usage.output) * price.outputPerMtok;
  return ceilDiv(total, TOKENS_PER_MTOK);
}

export function costOfUsageMicrocents(usage: Usage, price: Price): Microcents {
  return toSafeMicrocents(costOfUsage(usage, price));
}

/** The most a call can cost: every input token plus the full output allowance. */
export function estimateMaxCost(inputTokens: number, maxOutputTokens: number, price: Price): bigint {
  return ceilDiv(BigInt(inputTokens) * price.inputPerMtok + BigInt(maxOutputTokens) * price.outputPerMtok, TOKENS_PER_MTOK);
}
