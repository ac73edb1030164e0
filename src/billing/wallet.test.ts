import { describe, expect, test } from "bun:test";
import { ManualClock } from "../lib/clock.ts";
import type { SettlementInput } from "./ledger.ts";
import { InlineSettlementWriter, type BatchOutcome, type SettlementWriter } from "./settlement-writer.ts";
import { Wallet } from "./wallet.ts";
import { grantLot, settlementOf, T0, USD, useLedgerFixture } from "../../test/harness/ledger.ts";

const fx = useLedgerFixture();

/** Commits a batch only when told to: the settlement thread's window held open. */
class HeldWriter implements SettlementWriter {
  private readonly inline: InlineSettlementWriter;
  private pending: Array<() => void> = [];

  constructor(db: ConstructorParameters<typeof InlineSettlementWriter>[0]) {
    this.inline = new InlineSettlementWriter(db);
  }

  write(inputs: readonly SettlementInput[]): Promise<BatchOutcome> {
    return new Promise((resolve) => this.pending.push(() => resolve(this.inline.writeNow(inputs))));
  }

  commit(): void {
    const pending = this.pending;
    this.pending = [];
    for (const run of pending) run();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe("Wallet.settle: while its commit is pending, the charge is what the call holds", () => {
  test.each([
    ["above the hold", 600_000, 400_000],
    ["below the hold", 50_000, 950_000],
  ])("a charge %s keeps exactly itself out of the available balance; no concurrent hold can take more", async (_name, cost, available) => {
    grantLot(fx, fx.wsA, 1_000_000, 365);
    const writer = new HeldWriter(fx.opened.db);
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000, writer);
    const held = wallet.tryHold(fx.wsA, 100_000, 0);
    if (!held.ok) throw new Error("hold refused");
    const settled = wallet.settle(held.hold, settlementOf(fx.wsA, cost));
    await new Promise((resolve) => setImmediate(resolve));
    expect(wallet.availableMicrocents(fx.wsA)).toBe(available);
    expect(wallet.tryHold(fx.wsA, available + 1, 0).ok).toBe(false);
    writer.commit();
    await settled;
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(1_000_000 - cost);
  });

  test("a pricier candidate's extra hold folds into the charge: held while pending, then nothing", async () => {
    grantLot(fx, fx.wsA, USD, 365);
    const writer = new HeldWriter(fx.opened.db);
    const wallet = new Wallet(fx.opened.db, new ManualClock(T0), 60_000, writer);
    const main = wallet.tryHold(fx.wsA, 100_000, 0);
    const extra = wallet.tryHold(fx.wsA, 300_000, 0);
    if (!main.ok || !extra.ok) throw new Error("hold refused");
    const settled = wallet.settle(main.hold, settlementOf(fx.wsA, 250_000), [extra.hold]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(wallet.heldMicrocents(fx.wsA)).toBe(250_000);
    expect(extra.hold.ended).toBe(true);
    writer.commit();
    await settled;
    expect(wallet.heldMicrocents(fx.wsA)).toBe(0);
    expect(wallet.availableMicrocents(fx.wsA)).toBe(USD - 250_000);
  });
});
