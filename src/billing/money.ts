/**
 * Money is an integer number of microcents (1 cent = 1,000,000 µ¢; $1 = 100,000,000 µ¢). USD appears only
 * in config and is converted here, exactly, from its decimal text. Amounts stay below 2^53 (≈ $90M);
 * products of tokens × prices are computed in bigint (see pricing.ts).
 */

export type Microcents = number;

export const MICROCENTS_PER_USD = 100_000_000n;
const USD_DECIMALS = 8;

/**
 * Converts a USD amount to microcents exactly, from the number's shortest decimal form (0.6 → "0.6" →
 * 60,000,000), so binary float noise never leaks into money. Returns null for values that are not
 * finite, or that carry precision below one microcent.
 */
export function usdToMicrocents(usd: number): bigint | null {
  if (!Number.isFinite(usd)) return null;
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(String(usd));
  if (!match) return null;
  const [, sign, whole = "0", fraction = "", exponentText] = match;
  let digits = whole + fraction;
  let scale = fraction.length - Number(exponentText ?? 0); // value = digits × 10^-scale
  digits = digits.replace(/^0+(?=\d)/, "");
  if (scale > USD_DECIMALS) {
    const excess = scale - USD_DECIMALS;
    const dropped = digits.slice(-excess);
    if (/[1-9]/.test(dropped)) return null;
    digits = digits.slice(0, -excess) || "0";
    scale = USD_DECIMALS;
  }
  const value = BigInt(digits) * 10n ** BigInt(USD_DECIMALS - scale);
  return sign === "-" ? -value : value;
}

/** Converts a bigint amount to a Microcents number, refusing values past 2^53. */
export function toSafeMicrocents(amount: bigint): Microcents {
  if (amount > BigInt(Number.MAX_SAFE_INTEGER) || amount < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`amount ${amount} µ¢ is beyond the supported range`);
  }
  return Number(amount);
}

/** Human form for messages and the CLI: "$12.345678" trimmed to what is needed, at least cents. */
export function formatUsd(microcents: Microcents | bigint): string {
  const amount = BigInt(microcents);
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const whole = abs / MICROCENTS_PER_USD;
  const fraction = (abs % MICROCENTS_PER_USD).toString().padStart(USD_DECIMALS, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${negative ? "-" : ""}$${whole}.${fraction}`;
}

/** Parses a typed USD amount ("25", "0.50", "12.345678") exactly; null unless a plain decimal of ≤ 8 places. */
export function parseUsdText(text: string): bigint | null {
  const match = /^(\d{1,12})(?:\.(\d{1,8}))?$/.exec(text.trim());
  if (!match?.[1]) return null;
  return BigInt(match[1]) * MICROCENTS_PER_USD + BigInt((match[2] ?? "").padEnd(USD_DECIMALS, "0"));
}
