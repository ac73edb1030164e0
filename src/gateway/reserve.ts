/**
 * Reserve stage, in SPEC order:
 *
 * 1. estimate — input estimate + output allowance, at each candidate channel's price;
 * 2. max price — candidates above X-Tollgate-Max-Price-Microcents are removed; none left → 403;
 * 3. quota — the workspace's daily/monthly cap, counting calls in flight → 403;
 * 4. balance — available ≥ the per-call minimum (a threshold) and ≥ the estimate → else 402, with the
 *    max_tokens the balance would allow;
 * 5. hold — the estimate is held until settlement.
 * Refusals are recorded (status refused, cost 0), bill nothing and send nothing upstream.
 */

import { formatUsd } from "../billing/money.ts";
import { ceilDiv, estimateMaxCost } from "../billing/pricing.ts";
import type { Hold } from "../billing/wallet.ts";
import type { AdmitTicket } from "../limits/limiter.ts";
import { emptyUsage } from "../canonical/usage.ts";
import type { ChannelConfig } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import type { RequestContext } from "./context.ts";
import type { GatewayServices } from "./services.ts";
import { CallSettlement } from "./settle.ts";
import { peekRateLimit } from "./admit.ts";

function insufficientBalance(available: number, inputTokens: number, first: ChannelConfig, estimate: bigint): GatewayError {
  const price = first.price;
  const inputCost = ceilDiv(BigInt(inputTokens) * price.inputPerMtok, 1_000_000n);
  const spare = BigInt(Math.max(available, 0)) - inputCost;
  const affordable = price.outputPerMtok > 0n && spare > 0n ? (spare * 1_000_000n) / price.outputPerMtok : 0n;
  const hint = affordable > 0n ? ` The balance allows max_tokens up to ${affordable}.` : " Top up the wallet to continue.";
  return new GatewayError(
    "insufficient_balance",
    `Insufficient balance: ${formatUsd(Math.max(available, 0))} available, this call may cost up to ${formatUsd(estimate)}.${hint}`,
  );
}

export interface ReserveInput<C extends { channel: ChannelConfig }> {
  inputTokens: number;
  /** The output allowance a candidate would get (fallback models have their own limits). */
  maxOutputTokens: number | ((candidate: C) => number);
  /** Channels in route order. */
  candidates: C[];
  /** For the refusal record. */
  record: { model: string; stream: boolean; route: string | null };
  /** A BYOK call costs this flat fee whatever the channel; null for token billing. */
  flatFeeMicrocents?: number | null;
  /** The rate-limit admission: a refusal gives its tokens back. */
  ticket?: AdmitTicket | null;
}

export interface Reservation<C> {
  hold: Hold;
  /** The candidates within the caller's max price, in order. */
  candidates: C[];
}

/** The most a candidate can cost: the flat BYOK fee, or input + output allowance at its price. */
export function estimateFor<C extends { channel: ChannelConfig }>(input: ReserveInput<C>, candidate: C): bigint {
  if (input.flatFeeMicrocents !== null && input.flatFeeMicrocents !== undefined) return BigInt(input.flatFeeMicrocents);
  const maxOutput = typeof input.maxOutputTokens === "number" ? input.maxOutputTokens : input.maxOutputTokens(candidate);
  return estimateMaxCost(input.inputTokens, maxOutput, candidate.channel.price);
}

export function reserve<C extends { channel: ChannelConfig }>(services: GatewayServices, ctx: RequestContext, input: ReserveInput<C>): Reservation<C> {
  const refuse = (error: GatewayError): never => {
    const settlement = new CallSettlement(services, ctx, { ...input.record, hold: null, byokFeeMicrocents: flatFee, ticket: input.ticket ?? null });
    settlement.finish({ status: "refused", httpStatus: error.status, errorCode: error.kind, usage: emptyUsage(), billable: false, ttftMs: null });
    // The refusal gave its tokens back (SPEC §6): the headers of its error say so.
    if (input.ticket) peekRateLimit(services, ctx);
    throw error;
  };
  const flatFee = input.flatFeeMicrocents ?? null;
  const estimates = input.candidates.map((candidate) => estimateFor(input, candidate));
  let candidates = input.candidates;
  let kept = estimates;
  const maxPrice = ctx.options.maxPriceMicrocents;
  if (maxPrice !== null) {
    const within = input.candidates.flatMap((candidate, index) => ((estimates[index] ?? 0n) <= BigInt(maxPrice) ? [{ candidate, estimate: estimates[index] ?? 0n }] : []));
    if (within.length === 0) {
      const cheapest = estimates.reduce((low, value) => (value < low ? value : low), estimates[0] ?? 0n);
      return refuse(new GatewayError("max_price_exceeded", `This call is estimated at ${cheapest} µ¢ at the cheapest channel, above the cap of ${maxPrice} µ¢.`));
    }
    candidates = within.map((item) => item.candidate);
    kept = within.map((item) => item.estimate);
  }
  const first = candidates[0] as C;
  const estimate = Number(kept[0] ?? 0n);
  const workspaceId = ctx.principal.workspaceId;
  const cap = services.spend.check(workspaceId, ctx.principal, estimate);
  if (!cap.ok) {
    return refuse(
      new GatewayError(
        "quota_exceeded",
        `This call would pass the workspace's ${cap.period} cap of ${formatUsd(cap.capMicrocents)} (${formatUsd(cap.spentMicrocents)} spent or in flight).`,
      ),
    );
  }
  const held = services.wallet.tryHold(workspaceId, estimate, services.config.billing.perCallMinimumMicrocents);
  if (!held.ok) return refuse(insufficientBalance(held.availableMicrocents, input.inputTokens, first.channel, BigInt(estimate)));
  services.spend.reserve(workspaceId, estimate);
  return { hold: held.hold, candidates };
}
