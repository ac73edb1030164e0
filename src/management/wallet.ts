/**
 * The wallet as its workspace sees it (balance, what this process holds for calls in flight, credit
 * lots) and the operator's grants. A grant is a credit lot plus its ledger entry in one transaction;
 * the wallet's cached balance is dropped so the next call sees the new credit.
 */

import { Type, type Static } from "@sinclair/typebox";
import { grantCredit } from "../billing/ledger.ts";
import { expireLots } from "../billing/lots.ts";
import { toSafeMicrocents, usdToMicrocents } from "../billing/money.ts";
import type { Deps } from "../deps.ts";
import { GatewayError } from "../errors.ts";
import { isoFromMs } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
import { walletDocument, type WalletDocument } from "./documents.ts";
import { compileBody } from "./validation.ts";
import { workspaceNotFound } from "./workspaces.ts";

export type WalletServiceDeps = Pick<Deps, "config" | "clock" | "repos" | "wallet" | "database">;

const DAY_MS = 86_400_000;

export const GrantBody = Type.Object(
  {
    amount_usd: Type.Number({ exclusiveMinimum: 0 }),
    note: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export const grantCheck = compileBody(GrantBody);

export interface GrantDocument {
  lot_id: string;
  amount_microcents: number;
  balance_microcents: number;
  expires_at: string;
}

/** The wallet document; lots past their expiry leave through the ledger first, so balance = Σ lots shown. */
export async function walletOf(deps: WalletServiceDeps, workspaceId: string): Promise<WalletDocument> {
  const nowMs = deps.clock.now();
  if (expireLots(deps.database.db, workspaceId, nowMs).length > 0) deps.wallet.invalidate(workspaceId);
  const row = await deps.repos.workspaces.findById(workspaceId);
  if (!row) throw workspaceNotFound(workspaceId);
  return walletDocument(deps.config, deps.database.db, row, deps.wallet.heldMicrocents(workspaceId), nowMs);
}

/** An operator grant: a lot valid for `credit_validity_days`, not refundable through Stripe. */
export async function grant(deps: WalletServiceDeps, workspaceId: string, input: Static<typeof GrantBody>): Promise<GrantDocument> {
  const amount = usdToMicrocents(input.amount_usd);
  if (amount === null || amount <= 0n || amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GatewayError("invalid_request", "Invalid request: 'amount_usd' must be a positive USD amount with at most 8 decimal places.", {
      param: "amount_usd",
    });
  }
  if (!(await deps.repos.workspaces.findById(workspaceId))) throw workspaceNotFound(workspaceId);
  const nowMs = deps.clock.now();
  const validityDays = deps.config.billing.creditValidityDays;
  const result = grantCredit(deps.database.db, {
    workspaceId,
    amountMicrocents: toSafeMicrocents(amount),
    source: "grant",
    note: input.note ?? null,
    nowMs,
    validityDays,
    idempotencyKey: newId("grant"),
  });
  deps.wallet.invalidate(workspaceId);
  return {
    lot_id: result.lotId,
    amount_microcents: toSafeMicrocents(amount),
    balance_microcents: result.balanceAfterMicrocents,
    expires_at: isoFromMs(nowMs + validityDays * DAY_MS),
  };
}
