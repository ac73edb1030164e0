/**
 * Reserve stage: hold the most a call can cost (its input estimate plus its output allowance at the
 * first channel's price), at least the per-call minimum. A wallet that cannot cover it refuses the
 * call with 402, recorded as refused at cost 0, with the max_tokens the balance would allow.
 */

import { formatUsd } from "../billing/money.ts";
import { ceilDiv, estimateMaxCost } from "../billing/pricing.ts";
import type { Hold } from "../billing/wallet.ts";
import { emptyUsage } from "../canonical/usage.ts";
import type { ChannelConfig } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import type { RequestContext } from "./context.ts";
import type { GatewayServices } from "./services.ts";
import { CallSettlement } from "./settle.ts";

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

export interface ReserveInput {
  inputTokens: number;
  maxOutputTokens: number;
  firstChannel: ChannelConfig;
  /** For the refusal record. */
  record: { model: string; stream: boolean; route: string | null };
}

export function reserve(services: GatewayServices, ctx: RequestContext, input: ReserveInput): Hold {
  const estimate = estimateMaxCost(input.inputTokens, input.maxOutputTokens, input.firstChannel.price);
  const minimum = services.config.billing.perCallMinimumMicrocents;
  const amount = Number(estimate > BigInt(minimum) ? estimate : BigInt(minimum));
  const held = services.wallet.tryHold(ctx.principal.workspaceId, amount, minimum);
  if (held.ok) return held.hold;
  const error = insufficientBalance(held.availableMicrocents, input.inputTokens, input.firstChannel, estimate);
  new CallSettlement(services, ctx, { ...input.record, hold: null }).finish({
    status: "refused",
    httpStatus: error.status,
    errorCode: error.kind,
    usage: emptyUsage(),
    billable: false,
    ttftMs: null,
  });
  throw error;
}
