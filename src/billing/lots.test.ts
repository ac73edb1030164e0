import { describe, expect, test } from "bun:test";
import { ManualClock } from "../lib/clock.ts";
import { readBalance, recordCall, verifyLedger } from "./ledger.ts";
import { expireLots, findLot, nextLotExpiryMs, recordLotRefund, sweepExpiredLots } from "./lots.ts";
import { Wallet } from "./wallet.ts";
import { DAY, grantLot, settlementOf, T0, USD, useLedgerFixture } from "../../test/harness/ledger.ts";

const fx = useLedgerFixture();
const grant = (workspaceId: string, amount: number, validityDays: number, source: "grant" | "stripe" = "grant", nowMs = T0) =>
  grantLot(fx, workspaceId, amount, validityDays, source, nowMs);

function charge(workspaceId: string, cost: number, nowMs: number): void {
  recordCall(fx.opened.db, settlementOf(workspaceId, cost, nowMs));
}

interface EntryRow {
  kind: string;
  amount_microcents: number;
  balance_after_microcents: number;
  lot_id: string | null;
  idempotency_key: string;
}

function entries(workspaceId: string, kind: string): EntryRow[] {
  return fx.opened.sqlite
    .query("select kind, amount_microcents, balance_after_microcents, lot_id, idempotency_key from ledger_entries where workspace_id = ? and kind = ? order by rowid")
    .all(workspaceId, kind) as EntryRow[];
}

const remaining = (lotId: string) => findLot(fx.opened.db, lotId)?.remainingMicrocents;

describe("expireLots", () => {
  test("empties a lot at its expiry through one 'expiry' entry of −remaining; the balance drops by exactly that", () => {
    const short = grant(fx.wsA, 3 * USD, 10);
    const long = grant(fx.wsA, 5 * USD, 365);
    charge(fx.wsA, 1_234_567, T0 + DAY); // soonest-expiring first: taken from `short`
    expect(remaining(short)).toBe(3 * USD - 1_234_567);

    expect(expireLots(fx.opened.db, fx.wsA, T0 + 10 * DAY - 1)).toEqual([]);
    const expired = expireLots(fx.opened.db, fx.wsA, T0 + 10 * DAY);

    expect(expired).toEqual([{ workspaceId: fx.wsA, lotId: short, expiredMicrocents: 3 * USD - 1_234_567 }]);
    expect(remaining(short)).toBe(0);
    expect(remaining(long)).toBe(5 * USD);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(5 * USD);
    expect(entries(fx.wsA, "expiry")).toEqual([
      { kind: "expiry", amount_microcents: -(3 * USD - 1_234_567), balance_after_microcents: 5 * USD, lot_id: short, idempotency_key: `expiry:${short}` },
    ]);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("runs once per lot: a second pass writes nothing", () => {
    grant(fx.wsA, USD, 1);
    expect(expireLots(fx.opened.db, fx.wsA, T0 + 2 * DAY)).toHaveLength(1);
    expect(expireLots(fx.opened.db, fx.wsA, T0 + 3 * DAY)).toEqual([]);
    expect(entries(fx.wsA, "expiry")).toHaveLength(1);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(0);
  });

  test("a used-up lot leaves no zero entry", () => {
    grant(fx.wsA, USD, 1);
    charge(fx.wsA, USD, T0 + 1);
    expect(expireLots(fx.opened.db, fx.wsA, T0 + 2 * DAY)).toEqual([]);
    expect(entries(fx.wsA, "expiry")).toEqual([]);
  });

  test("is scoped to the workspace asked for; the sweep covers every workspace", () => {
    const a = grant(fx.wsA, USD, 1);
    const b = grant(fx.wsB, 2 * USD, 1);
    expect(expireLots(fx.opened.db, fx.wsA, T0 + DAY).map((lot) => lot.lotId)).toEqual([a]);
    expect(remaining(b)).toBe(2 * USD);
    expect(sweepExpiredLots(fx.opened.db, T0 + DAY)).toEqual([{ workspaceId: fx.wsB, lotId: b, expiredMicrocents: 2 * USD }]);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(0);
    expect(readBalance(fx.opened.db, fx.wsB)).toBe(0);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("several lots of one workspace: each entry's balance_after is the running balance", () => {
    grant(fx.wsA, USD, 1);
    grant(fx.wsA, 2 * USD, 2);
    grant(fx.wsA, 4 * USD, 3);
    expireLots(fx.opened.db, fx.wsA, T0 + 2 * DAY);
    expect(entries(fx.wsA, "expiry").map((entry) => [entry.amount_microcents, entry.balance_after_microcents])).toEqual([
      [-USD, 6 * USD],
      [-2 * USD, 4 * USD],
    ]);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });
});

describe("nextLotExpiryMs", () => {
  test("the soonest expiry among lots still holding credit", () => {
    expect(nextLotExpiryMs(fx.opened.db, fx.wsA, T0)).toBeNull();
    const first = grant(fx.wsA, USD, 5);
    grant(fx.wsA, USD, 9);
    expect(nextLotExpiryMs(fx.opened.db, fx.wsA, T0)).toBe(T0 + 5 * DAY);
    charge(fx.wsA, USD, T0 + 1); // empties `first`
    expect(remaining(first)).toBe(0);
    expect(nextLotExpiryMs(fx.opened.db, fx.wsA, T0)).toBe(T0 + 9 * DAY);
    expect(nextLotExpiryMs(fx.opened.db, fx.wsB, T0)).toBeNull();
  });
});

describe("recordLotRefund", () => {
  test("one 'refund' entry keyed by the refund id; the lot loses exactly the amount; idempotent", () => {
    const lot = grant(fx.wsA, 30 * USD, 365, "stripe");
    charge(fx.wsA, 1_500_001, T0 + 1);
    const amount = Math.floor((30 * USD - 1_500_001) / 1_000_000) * 1_000_000;
    const first = recordLotRefund(fx.opened.db, { workspaceId: fx.wsA, lotId: lot, refundId: "re_1", amountMicrocents: amount, nowMs: T0 + 2 });
    expect(first.applied).toBe(true);
    expect(first.lot.remainingMicrocents).toBe(499_999);
    expect(first.balanceAfterMicrocents).toBe(499_999);
    const again = recordLotRefund(fx.opened.db, { workspaceId: fx.wsA, lotId: lot, refundId: "re_1", amountMicrocents: amount, nowMs: T0 + 3 });
    expect(again.applied).toBe(false);
    expect(entries(fx.wsA, "refund")).toEqual([
      { kind: "refund", amount_microcents: -amount, balance_after_microcents: 499_999, lot_id: lot, idempotency_key: "re_1" },
    ]);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(499_999);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("a shortfall (the lot was consumed meanwhile) comes from the other lots, so lots still hold the balance", () => {
    const other = grant(fx.wsA, 10 * USD, 400);
    const lot = grant(fx.wsA, 5 * USD, 365, "stripe");
    charge(fx.wsA, 2 * USD, T0 + 1); // from `lot` (it expires first)
    recordLotRefund(fx.opened.db, { workspaceId: fx.wsA, lotId: lot, refundId: "re_2", amountMicrocents: 4 * USD, nowMs: T0 + 2 });
    expect(remaining(lot)).toBe(0);
    expect(remaining(other)).toBe(9 * USD);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(9 * USD);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("refuses a lot of another workspace and writes nothing", () => {
    const lot = grant(fx.wsB, 5 * USD, 365, "stripe");
    expect(() => recordLotRefund(fx.opened.db, { workspaceId: fx.wsA, lotId: lot, refundId: "re_3", amountMicrocents: USD, nowMs: T0 })).toThrow();
    expect(entries(fx.wsB, "refund")).toEqual([]);
    expect(remaining(lot)).toBe(5 * USD);
  });
});

describe("wallet lazy expiry", () => {
  test("the cached balance drops the moment a lot expires, even inside the refresh interval", () => {
    const clock = new ManualClock(T0);
    const wallet = new Wallet(fx.opened.db, clock, 60_000);
    grant(fx.wsA, USD, 1);
    grant(fx.wsA, 2 * USD, 30);
    clock.advance(DAY - 1);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(3 * USD);
    clock.advance(1); // well inside the 60 s refresh interval
    expect(wallet.availableMicrocents(fx.wsA)).toBe(2 * USD);
    expect(entries(fx.wsA, "expiry")).toHaveLength(1);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("settling after a held lot expired: the expiry is written first and the charge comes from live lots", async () => {
    const clock = new ManualClock(T0);
    const wallet = new Wallet(fx.opened.db, clock, 60_000);
    const soon = grant(fx.wsA, USD, 1);
    const later = grant(fx.wsA, 2 * USD, 30);
    const outcome = wallet.tryHold(fx.wsA, USD / 2, 0);
    if (!outcome.ok) throw new Error("hold refused");
    clock.advance(DAY); // `soon` expires while the call runs
    await wallet.settle(outcome.hold, {
      nowMs: clock.now(),
      record: { requestId: "req_late", workspaceId: fx.wsA, keyId: "k", createdAt: clock.now(), model: "m", clientDialect: "openai", stream: false, status: "ok", httpStatus: 200, costMicrocents: 300_000 },
    });
    expect(remaining(soon)).toBe(0);
    expect(remaining(later)).toBe(2 * USD - 300_000);
    expect(entries(fx.wsA, "expiry").map((entry) => entry.amount_microcents)).toEqual([-USD]);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(2 * USD - 300_000);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });
});

describe("a wallet in debt (a call cost more than its hold)", () => {
  test("the next credit pays the debt first: its lot holds what is left, so the lots still hold the balance", () => {
    const first = grant(fx.wsA, USD, 365);
    charge(fx.wsA, USD + USD / 2, T0 + DAY); // half a dollar more than the wallet had
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(-USD / 2);
    expect(remaining(first)).toBe(0);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);

    const small = grant(fx.wsA, USD / 4, 365, "stripe", T0 + 2 * DAY); // not even the whole debt
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(-USD / 4);
    expect(remaining(small)).toBe(0);
    const topUp = grant(fx.wsA, 2 * USD, 365, "stripe", T0 + 3 * DAY);
    expect(readBalance(fx.opened.db, fx.wsA)).toBe(2 * USD - USD / 4);
    expect(remaining(topUp)).toBe(2 * USD - USD / 4);
    expect(findLot(fx.opened.db, topUp)?.amountMicrocents).toBe(2 * USD);
    expect(verifyLedger(fx.opened.db).problems).toEqual([]);
  });

  test("verify reports lots that hold credit while the ledger says the wallet is in debt", () => {
    grant(fx.wsA, USD, 365);
    charge(fx.wsA, 2 * USD, T0 + DAY);
    fx.opened.sqlite.query("update credit_lots set remaining_microcents = 5 where workspace_id = ?").run(fx.wsA);
    expect(verifyLedger(fx.opened.db).problems.map((problem) => problem.problem)).toEqual([`credit lots hold 5 µ¢ but the ledger balance is ${-USD} µ¢`]);
  });
});
