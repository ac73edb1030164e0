/**
 * Credit lots after they are granted (SPEC §8.4): expiry through the ledger, and the ledger side of a
 * Stripe refund. Consumption (soonest-expiring first) lives with the charge in ledger.ts.
 *
 * Every write is one synchronous `db.transaction(…, { behavior: "immediate" })` with no await inside,
 * and keeps the invariant `ledger verify` checks: a workspace's lots hold exactly its balance.
 */

import { and, asc, eq, gt, lte, min, ne, sql } from "drizzle-orm";
import type { TollgateDb } from "../db/client.ts";
import { creditLots, ledgerEntries, stripeEvents, workspaces } from "../db/schema.ts";
import { newId } from "../lib/ids.ts";

/** A drizzle transaction handle (or the database itself: bun:sqlite nests transactions as savepoints). */
export type LotTx = Parameters<Parameters<TollgateDb["transaction"]>[0]>[0];

/** What a read needs: the database or a transaction. */
type LotReader = Pick<LotTx, "select">;

export type LotRow = typeof creditLots.$inferSelect;

export interface ExpiredLot {
  workspaceId: string;
  lotId: string;
  /** What the lot still held: the amount that left the wallet through its 'expiry' entry. */
  expiredMicrocents: number;
}

/** Adds `delta` to the workspace's cached balance (never to lifetime spend); returns the new balance. */
function moveBalance(tx: LotTx, workspaceId: string, delta: number): number {
  const row = tx
    .update(workspaces)
    .set({ balanceMicrocents: sql`${workspaces.balanceMicrocents} + ${delta}` })
    .where(eq(workspaces.id, workspaceId))
    .returning({ balance: workspaces.balanceMicrocents })
    .get();
  if (!row) throw new Error(`workspace ${workspaceId} does not exist`);
  return row.balance;
}

/**
 * What a new lot of `amount` holds once credited, the balance now `balanceAfter`: a wallet a call overdrew
 * (its cost above its hold) is in debt, and the credit pays that first, so the lots still hold exactly
 * the balance (`verifyLedger`) and a refund never returns the part that paid it.
 */
export function creditedRemaining(amount: number, balanceAfter: number): number {
  return Math.min(amount, Math.max(0, balanceAfter));
}

function balanceOf(tx: LotTx, workspaceId: string): number {
  return tx.select({ balance: workspaces.balanceMicrocents }).from(workspaces).where(eq(workspaces.id, workspaceId)).get()?.balance ?? 0;
}

function dueLots(tx: LotReader, workspaceId: string | null, nowMs: number): Array<{ id: string; workspaceId: string; remaining: number }> {
  const due = and(lte(creditLots.expiresAt, nowMs), gt(creditLots.remainingMicrocents, 0));
  return tx
    .select({ id: creditLots.id, workspaceId: creditLots.workspaceId, remaining: creditLots.remainingMicrocents })
    .from(creditLots)
    .where(workspaceId === null ? due : and(eq(creditLots.workspaceId, workspaceId), due))
    .orderBy(asc(creditLots.expiresAt), asc(creditLots.id))
    .all();
}

/**
 * Inside a caller's transaction: empties every lot of the workspace with `expires_at ≤ now` that still
 * holds credit, each through one 'expiry' ledger entry of −remaining (idempotency key `expiry:<lot id>`).
 */
export function expireWorkspaceLotsInTx(tx: LotTx, workspaceId: string, nowMs: number): ExpiredLot[] {
  const expired: ExpiredLot[] = [];
  for (const lot of dueLots(tx, workspaceId, nowMs)) {
    tx.update(creditLots).set({ remainingMicrocents: 0 }).where(eq(creditLots.id, lot.id)).run();
    const balanceAfter = moveBalance(tx, workspaceId, -lot.remaining);
    tx.insert(ledgerEntries)
      .values({
        id: newId("le"),
        workspaceId,
        kind: "expiry",
        amountMicrocents: -lot.remaining,
        balanceAfterMicrocents: balanceAfter,
        lotId: lot.id,
        requestId: null,
        idempotencyKey: `expiry:${lot.id}`,
        note: null,
        createdAt: nowMs,
      })
      .run();
    expired.push({ workspaceId, lotId: lot.id, expiredMicrocents: lot.remaining });
  }
  return expired;
}

/**
 * Expires the due lots of one workspace (or of every workspace when `workspaceId` is null), one
 * immediate transaction per workspace. The first look is a plain indexed read, so the common case (nothing
 * due) takes no write lock; the transaction reads the due lots again, so concurrent runs expire each once.
 */
export function expireLots(db: TollgateDb, workspaceId: string | null, nowMs: number): ExpiredLot[] {
  const candidates = dueLots(db, workspaceId, nowMs);
  const workspaceIds = [...new Set(candidates.map((lot) => lot.workspaceId))];
  const expired: ExpiredLot[] = [];
  for (const id of workspaceIds) {
    expired.push(...db.transaction((tx) => expireWorkspaceLotsInTx(tx, id, nowMs), { behavior: "immediate" }));
  }
  return expired;
}

/** The periodic sweep: expires due lots in every workspace. Returns what it expired (to invalidate wallets). */
export function sweepExpiredLots(db: TollgateDb, nowMs: number): ExpiredLot[] {
  return expireLots(db, null, nowMs);
}

/** When the workspace's next lot holding credit expires (ms), or null when none does. */
export function nextLotExpiryMs(db: TollgateDb, workspaceId: string, nowMs: number): number | null {
  const row = db
    .select({ next: min(creditLots.expiresAt) })
    .from(creditLots)
    .where(and(eq(creditLots.workspaceId, workspaceId), gt(creditLots.expiresAt, nowMs), gt(creditLots.remainingMicrocents, 0)))
    .get();
  return row?.next ?? null;
}

export function findLot(db: TollgateDb, lotId: string): LotRow | null {
  return db.select().from(creditLots).where(eq(creditLots.id, lotId)).get() ?? null;
}

/** Whether a Stripe refund is already in the ledger (its id is the entry's idempotency key). */
export function isRefundRecorded(db: TollgateDb, refundId: string): boolean {
  return db.select({ id: ledgerEntries.id }).from(ledgerEntries).where(eq(ledgerEntries.idempotencyKey, refundId)).get() !== undefined;
}

export interface LotRefundInput {
  workspaceId: string;
  lotId: string;
  /** The Stripe refund id: the ledger entry's idempotency key. */
  refundId: string;
  amountMicrocents: number;
  nowMs: number;
}

export interface LotRefundResult {
  /** false when this refund id was already written, or Stripe already reported it failed: nothing changed. */
  applied: boolean;
  /** Stripe reported this refund failed before it was written: it never will be. */
  failed: boolean;
  balanceAfterMicrocents: number;
  lot: LotRow;
}

/**
 * The ledger side of a refund that Stripe has made: one 'refund' entry of −amount (idempotency key = the
 * refund id) and the lot's remaining reduced by it. Money that left through Stripe always leaves the
 * wallet: if a charge consumed part of the lot while Stripe was answering (another process), the
 * shortfall comes from the workspace's other lots, soonest-expiring first, so the lots still hold exactly
 * the balance. Idempotent per refund id (the synchronous path and the `refund.created` webhook may both
 * arrive).
 */
export function recordLotRefund(db: TollgateDb, input: LotRefundInput): LotRefundResult {
  return db.transaction(
    (tx) => {
      const lot = tx.select().from(creditLots).where(eq(creditLots.id, input.lotId)).get();
      if (!lot || lot.workspaceId !== input.workspaceId) throw new Error(`lot ${input.lotId} is not a lot of workspace ${input.workspaceId}`);
      if (isRefundMarkedFailed(tx, input.refundId)) return { applied: false, failed: true, balanceAfterMicrocents: balanceOf(tx, input.workspaceId), lot };
      const existing = tx
        .select({ balanceAfter: ledgerEntries.balanceAfterMicrocents })
        .from(ledgerEntries)
        .where(eq(ledgerEntries.idempotencyKey, input.refundId))
        .get();
      if (existing) return { applied: false, failed: false, balanceAfterMicrocents: existing.balanceAfter, lot };
      const fromLot = Math.min(lot.remainingMicrocents, input.amountMicrocents);
      tx.update(creditLots)
        .set({ remainingMicrocents: lot.remainingMicrocents - fromLot })
        .where(eq(creditLots.id, lot.id))
        .run();
      takeFromOtherLots(tx, lot, input.amountMicrocents - fromLot);
      const balanceAfter = moveBalance(tx, input.workspaceId, -input.amountMicrocents);
      tx.insert(ledgerEntries)
        .values({
          id: newId("le"),
          workspaceId: input.workspaceId,
          kind: "refund",
          amountMicrocents: -input.amountMicrocents,
          balanceAfterMicrocents: balanceAfter,
          lotId: lot.id,
          requestId: null,
          idempotencyKey: input.refundId,
          note: `stripe refund ${input.refundId}`,
          createdAt: input.nowMs,
        })
        .run();
      const after = tx.select().from(creditLots).where(eq(creditLots.id, lot.id)).get() ?? lot;
      return { applied: true, failed: false, balanceAfterMicrocents: balanceAfter, lot: after };
    },
    { behavior: "immediate" },
  );
}

function takeFromOtherLots(tx: LotTx, refunded: LotRow, amount: number): void {
  let left = amount;
  if (left <= 0) return;
  const others = tx
    .select({ id: creditLots.id, remaining: creditLots.remainingMicrocents })
    .from(creditLots)
    .where(and(eq(creditLots.workspaceId, refunded.workspaceId), ne(creditLots.id, refunded.id), gt(creditLots.remainingMicrocents, 0)))
    .orderBy(asc(creditLots.expiresAt), asc(creditLots.id))
    .all();
  for (const other of others) {
    if (left === 0) break;
    const take = Math.min(other.remaining, left);
    tx.update(creditLots)
      .set({ remainingMicrocents: other.remaining - take })
      .where(eq(creditLots.id, other.id))
      .run();
    left -= take;
  }
}

/** The idempotency key of the entry that gives back a refund Stripe did not make. */
export function refundReversalKey(refundId: string): string {
  return `${refundId}:failed`;
}

/** A refund Stripe reported failed before the ledger had it: never written afterwards (stripe_events). */
function failedRefundMarker(refundId: string): string {
  return `refund-failed:${refundId}`;
}

/** Whether Stripe reported this refund failed before the ledger had it (it will never be written). */
export function isRefundMarkedFailed(reader: LotReader, refundId: string): boolean {
  return reader.select({ id: stripeEvents.eventId }).from(stripeEvents).where(eq(stripeEvents.eventId, failedRefundMarker(refundId))).get() !== undefined;
}

/**
 * A refund Stripe failed or cancelled after making it (the money never reached the card): its credit
 * comes back through one 'refund' entry of +amount, into a new lot that expires with the refunded one
 * and cannot be refunded again through the API (part of a refund may have come from other lots, grants
 * among them: a refundable lot would turn them into cash; the operator refunds by hand). As with any
 * credit, a wallet in debt is paid first. Once per refund id. A failure that comes before the refund is
 * in the ledger (a process that died while Stripe answered) is marked, and the refund is then never
 * written (`recordLotRefund`).
 */
export function reverseLotRefund(db: TollgateDb, input: { workspaceId: string; refundId: string; nowMs: number }): { applied: boolean } {
  return db.transaction(
    (tx) => {
      const refund = tx
        .select({ amount: ledgerEntries.amountMicrocents, lotId: ledgerEntries.lotId })
        .from(ledgerEntries)
        .where(and(eq(ledgerEntries.idempotencyKey, input.refundId), eq(ledgerEntries.workspaceId, input.workspaceId), eq(ledgerEntries.kind, "refund")))
        .get();
      const refunded = refund?.lotId ? tx.select().from(creditLots).where(eq(creditLots.id, refund.lotId)).get() : undefined;
      if (!refund || !refunded) {
        if (!isRefundMarkedFailed(tx, input.refundId)) {
          tx.insert(stripeEvents).values({ eventId: failedRefundMarker(input.refundId), type: "refund.failed", workspaceId: input.workspaceId, processedAt: input.nowMs }).run();
        }
        return { applied: false };
      }
      const key = refundReversalKey(input.refundId);
      if (tx.select({ id: ledgerEntries.id }).from(ledgerEntries).where(eq(ledgerEntries.idempotencyKey, key)).get()) return { applied: false };
      const amount = -refund.amount;
      const balanceAfter = moveBalance(tx, input.workspaceId, amount);
      const lotId = newId("lot");
      tx.insert(creditLots)
        .values({
          id: lotId,
          workspaceId: input.workspaceId,
          source: refunded.source,
          amountMicrocents: amount,
          remainingMicrocents: creditedRemaining(amount, balanceAfter),
          createdAt: input.nowMs,
          expiresAt: refunded.expiresAt,
          refundableUntil: null,
          stripePaymentIntent: null,
          note: `stripe refund ${input.refundId} failed: credit restored from ${refunded.id}`,
        })
        .run();
      tx.insert(ledgerEntries)
        .values({
          id: newId("le"),
          workspaceId: input.workspaceId,
          kind: "refund",
          amountMicrocents: amount,
          balanceAfterMicrocents: balanceAfter,
          lotId,
          requestId: null,
          idempotencyKey: key,
          note: `stripe refund ${input.refundId} failed: credit restored`,
          createdAt: input.nowMs,
        })
        .run();
      return { applied: true };
    },
    { behavior: "immediate" },
  );
}
