import { describe, expect, test } from "bun:test";
import { ManualClock } from "../lib/clock.ts";
import { SettlementBatchWriter } from "./group-commit.ts";
import { readBalance, recordCall, verifyLedger, type SettlementInput } from "./ledger.ts";
import { InlineSettlementWriter, type SettlementWriter } from "./settlement-writer.ts";
import { Wallet } from "./wallet.ts";
import { DAY, grantLot, settlementOf, T0, USD, useLedgerFixture } from "../../test/harness/ledger.ts";

const fx = useLedgerFixture();
const grant = (workspaceId: string, amount: number, validityDays: number, source: "grant" | "stripe" = "grant", nowMs = T0) =>
  grantLot(fx, workspaceId, amount, validityDays, source, nowMs);

/** Booleans set on purpose: the prepared insert must map them to 1 as drizzle does. */
function settlement(workspaceId: string, cost: number, nowMs = T0, requestId?: string): SettlementInput {
  const input = settlementOf(workspaceId, cost, nowMs, requestId);
  return { ...input, record: { ...input.record, stream: true, byok: true } };
}

type Entry = { workspace_id: string; kind: string; amount_microcents: number; balance_after_microcents: number; request_id: string | null };

function entries(): Entry[] {
  return fx.opened.sqlite
    .query("SELECT workspace_id, kind, amount_microcents, balance_after_microcents, request_id FROM ledger_entries WHERE kind != 'grant' ORDER BY rowid")
    .all() as Entry[];
}

function remaining(lotId: string): number {
  return (fx.opened.sqlite.query("SELECT remaining_microcents AS r FROM credit_lots WHERE id = ?").get(lotId) as { r: number }).r;
}

function lifetime(workspaceId: string): number {
  return (fx.opened.sqlite.query("SELECT lifetime_spend_microcents AS s FROM workspaces WHERE id = ?").get(workspaceId) as { s: number }).s;
}

describe("SettlementBatchWriter", () => {
  test("a batch writes each call as recordCall would alone: its record, its charge, its running balance", () => {
    grant(fx.wsA, USD, 365);
    grant(fx.wsB, USD, 365);
    const batch = [settlement(fx.wsA, 100), settlement(fx.wsB, 7), settlement(fx.wsA, 0), settlement(fx.wsA, 250)];
    const balances = new SettlementBatchWriter(fx.opened.db).write(batch);
    expect(balances).toEqual(new Map([[fx.wsA, USD - 350], [fx.wsB, USD - 7]]));
    expect(entries()).toEqual([
      { workspace_id: fx.wsA, kind: "charge", amount_microcents: -100, balance_after_microcents: USD - 100, request_id: batch[0]?.record.requestId ?? "" },
      { workspace_id: fx.wsA, kind: "charge", amount_microcents: -250, balance_after_microcents: USD - 350, request_id: batch[3]?.record.requestId ?? "" },
      { workspace_id: fx.wsB, kind: "charge", amount_microcents: -7, balance_after_microcents: USD - 7, request_id: batch[1]?.record.requestId ?? "" },
    ]);
    const records = fx.opened.sqlite.query("SELECT request_id, cost_microcents, stream, byok, attempts FROM requests ORDER BY rowid").all();
    expect(records).toEqual(batch.map((item) => ({ request_id: item.record.requestId, cost_microcents: item.record.costMicrocents, stream: 1, byok: 1, attempts: "[]" })));
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(USD - 350);
    expect(lifetime(fx.wsA)).toBe(350);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("the batch's sum comes from the soonest-expiring lots first, across lots, as one call after another would", () => {
    const soon = grant(fx.wsA, 300, 10);
    const later = grant(fx.wsA, USD, 30);
    new SettlementBatchWriter(fx.opened.db).write([settlement(fx.wsA, 200), settlement(fx.wsA, 200), settlement(fx.wsA, 50)]);
    expect(remaining(soon)).toBe(0);
    expect(remaining(later)).toBe(USD - 150);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("a lot that expired while the calls ran leaves through its expiry entry before the charges", () => {
    const soon = grant(fx.wsA, USD, 1);
    const later = grant(fx.wsA, 2 * USD, 30);
    new SettlementBatchWriter(fx.opened.db).write([settlement(fx.wsA, 100, T0 + DAY - 1), settlement(fx.wsA, 200, T0 + DAY)]);
    expect(entries().map((entry) => [entry.kind, entry.amount_microcents])).toEqual([["expiry", -USD], ["charge", -100], ["charge", -200]]);
    expect(remaining(soon)).toBe(0);
    expect(remaining(later)).toBe(2 * USD - 300);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("a batch that cannot be written leaves nothing behind", () => {
    grant(fx.wsA, USD, 365);
    recordCall(fx.opened.db, settlement(fx.wsA, 5, T0, "req_taken"));
    expect(() => new SettlementBatchWriter(fx.opened.db).write([settlement(fx.wsA, 100), settlement(fx.wsA, 10, T0, "req_taken")])).toThrow();
    expect(entries()).toHaveLength(1);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(USD - 5);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });
});

describe("Wallet group commit", () => {
  test("settle resolves once the turn's batch has committed; until then the hold covers the cost, no more", async () => {
    grant(fx.wsA, USD, 365);
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000);
    const holds = [wallet.tryHold(fx.wsA, 1000, 0), wallet.tryHold(fx.wsA, 1000, 0)];
    const written = holds.map((outcome, index) => {
      if (!outcome.ok) throw new Error("hold refused");
      return wallet.settle(outcome.hold, settlement(fx.wsA, 100 * (index + 1)));
    });
    expect(entries()).toEqual([]);
    // The estimates (1,000 each) shrank to the costs (100 and 200), which stay held until the commit.
    expect(wallet.heldMicrocents(fx.wsA)).toBe(300);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(USD - 300);
    await Promise.all(written);
    expect(entries().map((entry) => entry.balance_after_microcents)).toEqual([USD - 100, USD - 300]);
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(USD - 300);
  });

  test("a pricier candidate's extra hold is folded in: while the batch waits, a cost above the first hold stays held", async () => {
    grant(fx.wsA, 1500, 365);
    const inline = new InlineSettlementWriter(fx.opened.db);
    const gate = Promise.withResolvers<void>();
    const waiting: SettlementWriter = { write: (inputs) => gate.promise.then(() => inline.writeNow(inputs)), close: () => Promise.resolve() };
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000, waiting);
    const first = wallet.tryHold(fx.wsA, 1000, 0);
    const extra = wallet.tryHold(fx.wsA, 500, 0);
    if (!first.ok || !extra.ok) throw new Error("hold refused");
    const written = wallet.settle(first.hold, settlement(fx.wsA, 1400), [extra.hold]);
    expect(wallet.heldMicrocents(fx.wsA)).toBe(1400);
    // What is left is the balance less the charge: a concurrent call can no longer overdraw it.
    expect(wallet.tryHold(fx.wsA, 500, 0).ok).toBe(false);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(100);
    gate.resolve();
    await written;
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(100);
    expect(extra.hold.ended).toBe(true);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("a cost below the first hold: the extra hold ends and the first shrinks to the cost", async () => {
    grant(fx.wsA, USD, 365);
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000);
    const first = wallet.tryHold(fx.wsA, 1000, 0);
    const extra = wallet.tryHold(fx.wsA, 500, 0);
    if (!first.ok || !extra.ok) throw new Error("hold refused");
    const written = wallet.settle(first.hold, settlement(fx.wsA, 300), [extra.hold]);
    expect(wallet.heldMicrocents(fx.wsA)).toBe(300);
    await written;
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(USD - 300);
  });

  test("one settlement that cannot be written fails alone; the rest of its batch is written", async () => {
    grant(fx.wsA, USD, 365);
    recordCall(fx.opened.db, settlement(fx.wsA, 5, T0, "req_taken"));
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000);
    const hold = () => {
      const outcome = wallet.tryHold(fx.wsA, 1000, 0);
      if (!outcome.ok) throw new Error("hold refused");
      return outcome.hold;
    };
    const good = wallet.settle(hold(), settlement(fx.wsA, 100));
    const bad = wallet.settle(hold(), settlement(fx.wsA, 10, T0, "req_taken"));
    await expect(bad).rejects.toThrow();
    await good;
    expect(entries().map((entry) => entry.amount_microcents)).toEqual([-5, -100]);
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("a batch whose outcome is unknown (its writer died after committing) is not spent twice: the balance is read afresh", async () => {
    grant(fx.wsA, USD, 365);
    const inline = new InlineSettlementWriter(fx.opened.db);
    const diesAfterCommit: SettlementWriter = {
      write: (inputs) => {
        inline.writeNow(inputs);
        return Promise.reject(new Error("the settlement worker exited; the batch's outcome is unknown"));
      },
      close: () => Promise.resolve(),
    };
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000, diesAfterCommit);
    const outcome = wallet.tryHold(fx.wsA, 1000, 0);
    if (!outcome.ok) throw new Error("hold refused");
    await expect(wallet.settle(outcome.hold, settlement(fx.wsA, 400))).rejects.toThrow("unknown");
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    // Well inside the 60 s refresh interval, yet the committed charge counts.
    expect(wallet.availableMicrocents(fx.wsA)).toBe(USD - 400);
  });

  test("close writes what is queued before it resolves (before the database closes)", async () => {
    grant(fx.wsA, USD, 365);
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000);
    const outcome = wallet.tryHold(fx.wsA, 1000, 0);
    if (!outcome.ok) throw new Error("hold refused");
    void wallet.settle(outcome.hold, settlement(fx.wsA, 100));
    expect(entries()).toHaveLength(0);
    await wallet.close();
    expect(entries()).toHaveLength(1);
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
  });
});
