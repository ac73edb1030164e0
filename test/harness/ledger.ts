/**
 * A fresh in-memory database with two workspaces, for the billing unit tests: grants (lots), settlement
 * inputs and lot lookups, each numbered so idempotency keys and request ids never collide.
 */

import { afterEach, beforeEach } from "bun:test";
import { openDatabase, type OpenedDatabase } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { WorkspaceRepo } from "../../src/db/repo/workspaces.ts";
import { grantCredit, type SettlementInput } from "../../src/billing/ledger.ts";

export const DAY = 86_400_000;
export const T0 = Date.UTC(2026, 0, 1);
export const USD = 100_000_000;

export interface LedgerFixture {
  opened: OpenedDatabase;
  wsA: string;
  wsB: string;
}

/** Registers beforeEach/afterEach in the calling test file; read the fields inside tests. */
export function useLedgerFixture(): LedgerFixture {
  const fixture = {} as LedgerFixture;
  beforeEach(async () => {
    fixture.opened = openDatabase(":memory:");
    migrateDatabase(fixture.opened.db);
    const repo = new WorkspaceRepo(fixture.opened.db);
    fixture.wsA = (await repo.create("a", T0)).id;
    fixture.wsB = (await repo.create("b", T0)).id;
  });
  afterEach(() => fixture.opened.close());
  return fixture;
}

let grantCounter = 0;
let requestCounter = 0;

/** A credit lot of `amount` µ¢ valid for `validityDays`; Stripe lots get a 30-day refund window. */
export function grantLot(
  fixture: LedgerFixture,
  workspaceId: string,
  amount: number,
  validityDays: number,
  source: "grant" | "stripe" = "grant",
  nowMs = T0,
): string {
  return grantCredit(fixture.opened.db, {
    workspaceId,
    amountMicrocents: amount,
    source,
    note: null,
    nowMs,
    validityDays,
    idempotencyKey: `g${grantCounter++}`,
    refundableUntilMs: source === "stripe" ? nowMs + 30 * DAY : null,
    stripePaymentIntent: source === "stripe" ? "pi_test" : null,
  }).lotId;
}

/** A finished call costing `cost`, as the pipeline hands it to settlement. */
export function settlementOf(workspaceId: string, cost: number, nowMs = T0, requestId = `req_${requestCounter++}`): SettlementInput {
  return {
    nowMs,
    record: { requestId, workspaceId, keyId: "key_x", createdAt: nowMs, model: "m", clientDialect: "openai", stream: false, status: "ok", httpStatus: 200, costMicrocents: cost },
  };
}
