/**
 * The ledger: append-only entries, each moving a workspace's balance, written in the same synchronous
 * transaction as what caused it (a grant and its lot; a charge, its lot consumption and its request
 * record). `verifyLedger` recomputes every wallet from its entries.
 *
 * Each operation is one `db.transaction(…, { behavior: "immediate" })` with no await inside: an async
 * callback would commit at its first await under bun:sqlite.
 */

import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { TollgateDb } from "../db/client.ts";
import type { NewRequestRow } from "../db/repo/requests.ts";
import { creditLots, ledgerEntries, requests, workspaces } from "../db/schema.ts";
import { newId } from "../lib/ids.ts";
import { creditedRemaining } from "./lots.ts";

const DAY_MS = 86_400_000;

export interface GrantInput {
  workspaceId: string;
  amountMicrocents: number;
  source: "grant" | "stripe";
  note: string | null;
  nowMs: number;
  validityDays: number;
  idempotencyKey: string;
  refundableUntilMs?: number | null;
  stripePaymentIntent?: string | null;
}

export interface GrantResult {
  lotId: string;
  balanceAfterMicrocents: number;
  /** false when the idempotency key had already been used: nothing was written. */
  applied: boolean;
}

/** Adds a credit lot and its ledger entry. Idempotent per `idempotencyKey`. */
export function grantCredit(db: TollgateDb, input: GrantInput): GrantResult {
  return db.transaction(
    (tx) => {
      const existing = tx
        .select({ lotId: ledgerEntries.lotId, balanceAfter: ledgerEntries.balanceAfterMicrocents })
        .from(ledgerEntries)
        .where(eq(ledgerEntries.idempotencyKey, input.idempotencyKey))
        .get();
      if (existing) return { lotId: existing.lotId ?? "", balanceAfterMicrocents: existing.balanceAfter, applied: false };
      const lotId = newId("lot");
      const balanceAfter = moveBalance(tx, input.workspaceId, input.amountMicrocents, 0);
      const remaining = creditedRemaining(input.amountMicrocents, balanceAfter);
      tx.insert(creditLots)
        .values({
          id: lotId,
          workspaceId: input.workspaceId,
          source: input.source,
          amountMicrocents: input.amountMicrocents,
          remainingMicrocents: remaining,
          createdAt: input.nowMs,
          expiresAt: input.nowMs + input.validityDays * DAY_MS,
          refundableUntil: input.refundableUntilMs ?? null,
          stripePaymentIntent: input.stripePaymentIntent ?? null,
          note: input.note,
        })
        .run();
      tx.insert(ledgerEntries)
        .values({
          id: newId("le"),
          workspaceId: input.workspaceId,
          kind: input.source === "grant" ? "grant" : "topup",
          amountMicrocents: input.amountMicrocents,
          balanceAfterMicrocents: balanceAfter,
          lotId,
          requestId: null,
          idempotencyKey: input.idempotencyKey,
          note: input.note,
          createdAt: input.nowMs,
        })
        .run();
      return { lotId, balanceAfterMicrocents: balanceAfter, applied: true };
    },
    { behavior: "immediate" },
  );
}

type Tx = Parameters<Parameters<TollgateDb["transaction"]>[0]>[0];

/** Adds `delta` to the cached balance (and `spend` to lifetime spend); returns the new balance. */
function moveBalance(tx: Tx, workspaceId: string, delta: number, spend: number): number {
  const row = tx
    .update(workspaces)
    .set({
      balanceMicrocents: sql`${workspaces.balanceMicrocents} + ${delta}`,
      lifetimeSpendMicrocents: sql`${workspaces.lifetimeSpendMicrocents} + ${spend}`,
    })
    .where(eq(workspaces.id, workspaceId))
    .returning({ balance: workspaces.balanceMicrocents })
    .get();
  if (!row) throw new Error(`workspace ${workspaceId} does not exist`);
  return row.balance;
}

/** Takes `amount` from the workspace's lots, soonest-expiring first (SPEC §8.4). */
function consumeLots(tx: Tx, workspaceId: string, amount: number, nowMs: number): void {
  let left = amount;
  const lots = tx
    .select({ id: creditLots.id, remaining: creditLots.remainingMicrocents })
    .from(creditLots)
    .where(and(eq(creditLots.workspaceId, workspaceId), gt(creditLots.remainingMicrocents, 0), gt(creditLots.expiresAt, nowMs)))
    .orderBy(asc(creditLots.expiresAt), asc(creditLots.id))
    .all();
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(lot.remaining, left);
    tx.update(creditLots)
      .set({ remainingMicrocents: lot.remaining - take })
      .where(eq(creditLots.id, lot.id))
      .run();
    left -= take;
  }
}

export interface SettlementInput {
  record: NewRequestRow & { workspaceId: string; requestId: string; costMicrocents: number };
  nowMs: number;
}

/**
 * Writes a finished call: the request record and, when it cost something, the charge (ledger entry,
 * lot consumption, balance and lifetime spend), all in one transaction. Returns the balance after.
 */
export function recordCall(db: TollgateDb, input: SettlementInput): number | null {
  return db.transaction(
    (tx) => {
      tx.insert(requests).values(input.record).run();
      const cost = input.record.costMicrocents;
      if (cost <= 0) return null;
      const workspaceId = input.record.workspaceId;
      consumeLots(tx, workspaceId, cost, input.nowMs);
      const balanceAfter = moveBalance(tx, workspaceId, -cost, cost);
      tx.insert(ledgerEntries)
        .values({
          id: newId("le"),
          workspaceId,
          kind: "charge",
          amountMicrocents: -cost,
          balanceAfterMicrocents: balanceAfter,
          lotId: null,
          requestId: input.record.requestId,
          idempotencyKey: `charge:${input.record.requestId}`,
          note: null,
          createdAt: input.nowMs,
        })
        .run();
      return balanceAfter;
    },
    { behavior: "immediate" },
  );
}

export function readBalance(db: TollgateDb, workspaceId: string): number | null {
  const row = db
    .select({ balance: workspaces.balanceMicrocents })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId))
    .get();
  return row ? row.balance : null;
}

export interface LedgerProblem {
  workspaceId: string;
  problem: string;
}

export interface LedgerReport {
  workspaces: number;
  entries: number;
  problems: LedgerProblem[];
}

/**
 * Recomputes every wallet from its ledger (SPEC §8.1): the cached balance equals the sum of entries;
 * each entry's balance_after equals the running sum; the credit lots hold exactly the balance; every
 * charge has its request record with the same cost, and every request with a cost has its charge.
 */
export function verifyLedger(db: TollgateDb): LedgerReport {
  const problems: LedgerProblem[] = [];
  let entryCount = 0;
  const rows = db.select().from(workspaces).all();
  for (const workspace of rows) {
    const entries = db
      .select()
      .from(ledgerEntries)
      .where(eq(ledgerEntries.workspaceId, workspace.id))
      .orderBy(asc(sql`rowid`))
      .all();
    entryCount += entries.length;
    let running = 0n;
    for (const entry of entries) {
      running += BigInt(entry.amountMicrocents);
      if (BigInt(entry.balanceAfterMicrocents) !== running) {
        problems.push({
          workspaceId: workspace.id,
          problem: `entry ${entry.id}: balance_after ${entry.balanceAfterMicrocents} but the running sum is ${running}`,
        });
      }
    }
    if (running !== BigInt(workspace.balanceMicrocents)) {
      problems.push({
        workspaceId: workspace.id,
        problem: `balance ${workspace.balanceMicrocents} µ¢ but its ledger sums to ${running} µ¢`,
      });
    }
    const lots = db
      .select({ total: sql<number>`coalesce(sum(${creditLots.remainingMicrocents}), 0)` })
      .from(creditLots)
      .where(eq(creditLots.workspaceId, workspace.id))
      .get();
    const lotTotal = BigInt(lots?.total ?? 0);
    // The lots hold the balance; a wallet in debt (a call cost more than its hold) holds nothing in lots.
    const expectedLots = running > 0n ? running : 0n;
    if (lotTotal !== expectedLots) {
      problems.push({ workspaceId: workspace.id, problem: `credit lots hold ${lotTotal} µ¢ but the ledger balance is ${running} µ¢` });
    }
  }
  const unmatched = db
    .select({ id: ledgerEntries.id, requestId: ledgerEntries.requestId, workspaceId: ledgerEntries.workspaceId })
    .from(ledgerEntries)
    .leftJoin(requests, eq(requests.requestId, ledgerEntries.requestId))
    .where(
      and(
        eq(ledgerEntries.kind, "charge"),
        sql`(${requests.requestId} is null or ${requests.costMicrocents} != -${ledgerEntries.amountMicrocents})`,
      ),
    )
    .all();
  for (const entry of unmatched) {
    problems.push({ workspaceId: entry.workspaceId, problem: `charge ${entry.id} has no matching request record ${entry.requestId}` });
  }
  const unbilled = db
    .select({ requestId: requests.requestId, workspaceId: requests.workspaceId })
    .from(requests)
    .leftJoin(ledgerEntries, and(eq(ledgerEntries.requestId, requests.requestId), eq(ledgerEntries.kind, "charge")))
    .where(and(gt(requests.costMicrocents, 0), sql`${ledgerEntries.id} is null`))
    .all();
  for (const record of unbilled) {
    problems.push({ workspaceId: record.workspaceId, problem: `request ${record.requestId} has a cost but no charge in the ledger` });
  }
  return { workspaces: rows.length, entries: entryCount, problems };
}
