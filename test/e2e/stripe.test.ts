/**
 * Stripe top-ups, webhooks, refunds and lot expiry, end to end: the app with billingRoutes composed in,
 * a fake Stripe on 127.0.0.1, a manual clock, and the ledger rows checked after every step.
 */

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Stripe from "stripe";
import { grantCredit, readBalance, verifyLedger } from "../../src/billing/ledger.ts";
import { sweepExpiredLots } from "../../src/billing/lots.ts";
import { ManualClock } from "../../src/lib/clock.ts";
import { billingRoutes } from "../../src/management/billing-routes.ts";
import { startFakeStripe, type FakeStripe } from "../harness/fake-stripe.ts";
import { MOCK_CONFIG, rows, startGateway, type TestGateway } from "../harness/gateway.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const USD = 100_000_000;
const CENT = 1_000_000;
const WEBHOOK_SECRET = "whsec_test_tollgate_secret";

let fake: FakeStripe;
let gateway: TestGateway | null = null;
let clock: ManualClock;

beforeAll(() => {
  fake = startFakeStripe();
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.sessions.length = 0;
  fake.refunds.length = 0;
  fake.refundRequests.length = 0;
  clock = new ManualClock(T0);
});
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

interface Setup {
  grantUsd?: number;
  stripe?: boolean;
  validityDays?: number;
  refundWindowDays?: number;
}

async function start(setup: Setup = {}): Promise<{ gw: TestGateway; handle: (request: Request) => Promise<Response> }> {
  const billing =
    setup.stripe === false
      ? ""
      : `stripe_secret_key = "sk_test_fake"\nstripe_webhook_secret = "${WEBHOOK_SECRET}"\nstripe_api_base = "${fake.url}"\n`;
  const toml = `[server]
public_url = "https://gw.example.test/"

[billing]
min_topup_usd = 25
credit_validity_days = ${setup.validityDays ?? 365}
refund_window_days = ${setup.refundWindowDays ?? 30}
${billing}
${MOCK_CONFIG}`;
  const gw = await startGateway({ configToml: toml, clock, grantUsd: setup.grantUsd ?? 10 });
  gateway = gw;
  const app = gw.app.use(billingRoutes(gw.deps));
  return { gw, handle: (request) => app.handle(request) };
}

function post(path: string, body: unknown, key: string | null, headers: Record<string, string> = {}): Request {
  return new Request(`http://127.0.0.1${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

interface ErrorBody {
  error: { code: string; type: string; message: string };
}

interface SessionEventOptions {
  eventId: string;
  workspaceId: string;
  cents: number;
  sessionId: string;
  paymentIntent?: string;
  type?: string;
  paymentStatus?: string;
  metadataMicrocents?: string;
}

function sessionEvent(options: SessionEventOptions): string {
  return JSON.stringify({
    id: options.eventId,
    object: "event",
    type: options.type ?? "checkout.session.completed",
    api_version: "2026-10-28.endive",
    created: Math.floor(T0 / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: {
      object: {
        id: options.sessionId,
        object: "checkout.session",
        mode: "payment",
        status: "complete",
        payment_status: options.paymentStatus ?? "paid",
        client_reference_id: options.workspaceId,
        currency: "usd",
        amount_subtotal: options.cents,
        amount_total: options.cents,
        payment_intent: options.paymentIntent ?? `pi_${options.sessionId}`,
        metadata: { workspace_id: options.workspaceId, amount_microcents: options.metadataMicrocents ?? String(options.cents * CENT) },
      },
    },
  });
}

function refundEvent(
  eventId: string,
  refund: { id: string; amount: number; payment_intent: string; status: string; metadata: Record<string, string> },
  type = "refund.created",
): string {
  return JSON.stringify({ id: eventId, object: "event", type, created: Math.floor(T0 / 1000), livemode: false, data: { object: { object: "refund", currency: "usd", ...refund } } });
}

/** Signed with the SDK's helper (its async form: under Bun the SDK's crypto is SubtleCrypto, async only). */
async function webhook(payload: string, secret = WEBHOOK_SECRET): Promise<Request> {
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret });
  return new Request("http://127.0.0.1/v1/billing/webhook", { method: "POST", headers: { "content-type": "application/json", "stripe-signature": signature }, body: payload });
}

interface LotRow {
  id: string;
  source: string;
  amount_microcents: number;
  remaining_microcents: number;
  expires_at: number;
  refundable_until: number | null;
  stripe_payment_intent: string | null;
}
interface EntryRow {
  kind: string;
  amount_microcents: number;
  lot_id: string | null;
  idempotency_key: string;
}

const lots = async (gw: TestGateway) => (await rows<LotRow>(gw, "select id, source, amount_microcents, remaining_microcents, expires_at, refundable_until, stripe_payment_intent from credit_lots order by rowid"));
const lot = async (gw: TestGateway, id: string) => (await lots(gw)).find((row) => row.id === id);
const entries = async (gw: TestGateway, kind?: string) =>
  (await rows<EntryRow>(gw, "select kind, amount_microcents, lot_id, idempotency_key from ledger_entries order by rowid")).filter((row) => !kind || row.kind === kind);

/** Credits a Stripe lot through a signed checkout.session.completed; returns its lot id. */
async function buyCredit(gw: TestGateway, handle: (request: Request) => Promise<Response>, cents: number, tag: string): Promise<string> {
  const response = await handle(await webhook(sessionEvent({ eventId: `evt_${tag}`, workspaceId: gw.workspaceId, cents, sessionId: `cs_test_${tag}` })));
  expect(response.status).toBe(200);
  const stripeLot = (await lots(gw)).find((row) => row.stripe_payment_intent === `pi_cs_test_${tag}`);
  if (!stripeLot) throw new Error("no lot was credited");
  return stripeLot.id;
}

async function chat(gw: TestGateway, handle: (request: Request) => Promise<Response>, text: string): Promise<Response> {
  return handle(post("/v1/chat/completions", { model: "mock-model", messages: [{ role: "user", content: text }] }, gw.liveKey));
}

async function spend(gw: TestGateway, handle: (request: Request) => Promise<Response>, text: string): Promise<number> {
  const response = await chat(gw, handle, text);
  expect(response.status).toBe(200);
  const cost = Number(response.headers.get("x-tollgate-cost-microcents"));
  expect(cost).toBeGreaterThan(0);
  return cost;
}

describe("POST /v1/billing/checkout", () => {
  test("below min_topup_usd, fractional cents, unknown fields or a live key: refused, nothing sent to Stripe", async () => {
    const { gw, handle } = await start();
    const below = await handle(post("/v1/billing/checkout", { amount_usd: 24.99 }, gw.mgmtKey));
    expect(below.status).toBe(400);
    const belowBody = (await below.json()) as ErrorBody;
    expect(belowBody.error.code).toBe("invalid_request");
    expect(belowBody.error.message).toContain("$25.00");
    expect(below.headers.get("x-request-id")).toStartWith("req_");
    expect((await handle(post("/v1/billing/checkout", { amount_usd: 25.005 }, gw.mgmtKey))).status).toBe(400);
    expect((await handle(post("/v1/billing/checkout", { amount_usd: 30, currency: "eur" }, gw.mgmtKey))).status).toBe(400);
    expect((await handle(post("/v1/billing/checkout", { amount_usd: "30" }, gw.mgmtKey))).status).toBe(400);
    expect((await handle(post("/v1/billing/checkout", { amount_usd: 30 }, gw.liveKey))).status).toBe(401);
    expect(fake.sessions).toHaveLength(0);
  });

  test("creates a Checkout session carrying the workspace as client_reference_id and in metadata", async () => {
    const { gw, handle } = await start();
    const response = await handle(post("/v1/billing/checkout", { amount_usd: 25.5 }, gw.mgmtKey));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { url: string; session_id: string };
    expect(fake.sessions).toHaveLength(1);
    const sent = fake.sessions[0];
    expect(sent?.authorization).toBe("Bearer sk_test_fake");
    expect(sent?.form).toMatchObject({
      mode: "payment",
      client_reference_id: gw.workspaceId,
      "metadata[workspace_id]": gw.workspaceId,
      "metadata[amount_microcents]": String(2550 * CENT),
      "line_items[0][quantity]": "1",
      "line_items[0][price_data][currency]": "usd",
      "line_items[0][price_data][unit_amount]": "2550",
    });
    expect(sent?.form.success_url).toBe("https://gw.example.test/?checkout=success&session_id={CHECKOUT_SESSION_ID}");
    expect(sent?.form.cancel_url).toBe("https://gw.example.test/?checkout=cancel");
    expect(body.session_id).toStartWith("cs_test_");
    expect(body.url).toBe(`https://checkout.stripe.test/c/pay/${body.session_id}`);
    expect(await entries(gw, "topup")).toEqual([]); // nothing is credited before Stripe says it was paid
  });

  test("without a Stripe secret key: 400 saying Stripe is not configured", async () => {
    const { gw, handle } = await start({ stripe: false });
    const response = await handle(post("/v1/billing/checkout", { amount_usd: 30 }, gw.mgmtKey));
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.message).toContain("Stripe is not configured");
  });
});

describe("POST /v1/billing/webhook", () => {
  test("a bad, missing or stale signature, or a tampered body: 400 and nothing credited", async () => {
    const { gw, handle } = await start();
    const ledgerBefore = await entries(gw);
    const payload = sessionEvent({ eventId: "evt_bad", workspaceId: gw.workspaceId, cents: 5000, sessionId: "cs_test_bad" });
    const wrongSecret = await handle(await webhook(payload, "whsec_someone_else"));
    expect(wrongSecret.status).toBe(400);
    expect(((await wrongSecret.json()) as ErrorBody).error.code).toBe("invalid_request");
    const signed = await webhook(payload);
    const tampered = new Request(signed.url, { method: "POST", headers: signed.headers, body: payload.replace('"amount_total":5000', '"amount_total":500000') });
    expect((await handle(tampered)).status).toBe(400);
    const unsigned = new Request(signed.url, { method: "POST", headers: { "content-type": "application/json" }, body: payload });
    expect((await handle(unsigned)).status).toBe(400);
    const old = Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await handle(new Request(signed.url, { method: "POST", headers: { "stripe-signature": await old }, body: payload }))).status).toBe(400);
    expect(await entries(gw)).toEqual(ledgerBefore);
    expect((await rows(gw, "select * from stripe_events"))).toEqual([]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(10 * USD);
  });

  test("checkout.session.completed credits exactly once, even replayed 3 times", async () => {
    const { gw, handle } = await start();
    expect(gw.deps.wallet.tryHold(gw.workspaceId, 30 * USD, 0).ok).toBe(false); // the $10 grant alone
    const payload = sessionEvent({ eventId: "evt_paid", workspaceId: gw.workspaceId, cents: 2550, sessionId: "cs_test_paid", paymentIntent: "pi_paid" });
    for (let delivery = 0; delivery < 4; delivery++) {
      const response = await handle(await webhook(payload));
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: true });
    }
    // A second event describing the same payment does not credit it again either.
    const async = sessionEvent({ eventId: "evt_paid_async", type: "checkout.session.async_payment_succeeded", workspaceId: gw.workspaceId, cents: 2550, sessionId: "cs_test_paid", paymentIntent: "pi_paid" });
    expect((await handle(await webhook(async))).status).toBe(200);

    const topups = await entries(gw, "topup");
    expect(topups).toHaveLength(1);
    expect(topups[0]?.amount_microcents).toBe(2550 * CENT);
    const credited = (await lots(gw)).filter((row) => row.source === "stripe");
    expect(credited).toEqual([
      {
        id: topups[0]?.lot_id ?? "",
        source: "stripe",
        amount_microcents: 2550 * CENT,
        remaining_microcents: 2550 * CENT,
        expires_at: T0 + 365 * DAY,
        refundable_until: T0 + 30 * DAY,
        stripe_payment_intent: "pi_paid",
      },
    ]);
    expect((await rows<{ event_id: string; workspace_id: string | null }>(gw, "select event_id, workspace_id from stripe_events order by rowid"))).toEqual([
      { event_id: "evt_paid", workspace_id: gw.workspaceId },
      { event_id: "evt_paid_async", workspace_id: gw.workspaceId },
    ]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(10 * USD + 2550 * CENT);
    const hold = gw.deps.wallet.tryHold(gw.workspaceId, 35 * USD + 50 * CENT, 0); // the cached wallet saw the credit
    expect(hold.ok).toBe(true);
    if (hold.ok) gw.deps.wallet.release(hold.hold);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("unpaid sessions, amounts that differ from the metadata and other event types are acknowledged, not credited", async () => {
    const { gw, handle } = await start();
    const unpaid = sessionEvent({ eventId: "evt_unpaid", workspaceId: gw.workspaceId, cents: 5000, sessionId: "cs_test_unpaid", paymentStatus: "unpaid" });
    const mismatch = sessionEvent({ eventId: "evt_mismatch", workspaceId: gw.workspaceId, cents: 5000, sessionId: "cs_test_mismatch", metadataMicrocents: String(2500 * CENT) });
    const other = JSON.stringify({ id: "evt_other", object: "event", type: "customer.created", data: { object: { id: "cus_1", object: "customer" } } });
    for (const payload of [unpaid, mismatch, other]) expect((await handle(await webhook(payload))).status).toBe(200);
    expect(await entries(gw, "topup")).toEqual([]);
    expect((await rows<{ event_id: string }>(gw, "select event_id from stripe_events order by rowid")).map((row) => row.event_id)).toEqual(["evt_unpaid", "evt_mismatch", "evt_other"]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(10 * USD);
  });
});

describe("POST /v1/billing/refunds", () => {
  test("refunds only the unused part of a partly used lot, in whole cents rounded down; the rest stays", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "refund");
    const spent = (await spend(gw, handle, "hello there, how are you")) + (await spend(gw, handle, "one more call"));
    const unused = 2500 * CENT - spent;
    expect((await lot(gw, lotId))?.remaining_microcents).toBe(unused);
    const refundable = Math.floor(unused / CENT) * CENT;
    expect(unused - refundable).toBeGreaterThan(0); // a sub-cent rest exists, so rounding down is observable

    const response = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { refund_id: string; refunded_microcents: number; lot: { id: string; remaining_microcents: number; refundable_until: string } };
    expect(body.refunded_microcents).toBe(refundable);
    expect(body.lot).toMatchObject({ id: lotId, remaining_microcents: unused - refundable, refundable_until: new Date(T0 + 30 * DAY).toISOString() });

    expect(fake.refunds).toHaveLength(1);
    expect(fake.refunds[0]).toMatchObject({ id: body.refund_id, amount: refundable / CENT, payment_intent: "pi_cs_test_refund" });
    expect(fake.refunds[0]?.metadata).toMatchObject({ tollgate_lot_id: lotId, tollgate_workspace_id: gw.workspaceId });
    expect(fake.refundRequests[0]?.idempotencyKey).toBe(`refund:${lotId}:${unused}:0`);
    expect(await entries(gw, "refund")).toEqual([{ kind: "refund", amount_microcents: -refundable, lot_id: lotId, idempotency_key: body.refund_id }]);
    expect((await lot(gw, lotId))?.remaining_microcents).toBe(unused - refundable);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(unused - refundable);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);

    const again = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorBody).error.code).toBe("conflict");
    expect(fake.refundRequests).toHaveLength(1);
  });

  test("past the refund window, a grant lot, or a lot of another workspace: refused, Stripe never asked", async () => {
    const { gw, handle } = await start({ grantUsd: 10, refundWindowDays: 7 });
    const stripeLot = await buyCredit(gw, handle, 3000, "window");
    const grantLot = (await lots(gw)).find((row) => row.source === "grant")?.id ?? "";
    const otherWorkspace = await gw.deps.repos.workspaces.create("other", clock.now());
    const otherLot = grantCredit(gw.deps.database.db, {
      workspaceId: otherWorkspace.id,
      amountMicrocents: 40 * USD,
      source: "stripe",
      note: null,
      nowMs: clock.now(),
      validityDays: 365,
      idempotencyKey: "other-lot",
      refundableUntilMs: clock.now() + 7 * DAY,
      stripePaymentIntent: "pi_other",
    }).lotId;

    const grantRefund = await handle(post("/v1/billing/refunds", { lot_id: grantLot }, gw.mgmtKey));
    expect(grantRefund.status).toBe(409);
    expect(((await grantRefund.json()) as ErrorBody).error.code).toBe("conflict");
    expect((await handle(post("/v1/billing/refunds", { lot_id: otherLot }, gw.mgmtKey))).status).toBe(404);
    expect((await handle(post("/v1/billing/refunds", { lot_id: "lot_nope" }, gw.mgmtKey))).status).toBe(404);

    clock.advance(7 * DAY + 1);
    const late = await handle(post("/v1/billing/refunds", { lot_id: stripeLot }, gw.mgmtKey));
    expect(late.status).toBe(409);
    expect(((await late.json()) as ErrorBody).error.message).toContain("refund window");
    expect(fake.refundRequests).toHaveLength(0);
    expect(await entries(gw, "refund")).toEqual([]);
    expect((await lot(gw, stripeLot))?.remaining_microcents).toBe(3000 * CENT);
  });

  test("the last millisecond of the window still refunds", async () => {
    const { gw, handle } = await start({ grantUsd: 0, refundWindowDays: 7 });
    const lotId = await buyCredit(gw, handle, 2600, "edge");
    clock.advance(7 * DAY);
    const response = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(response.status).toBe(200);
    expect(fake.refunds.map((refund) => refund.amount)).toEqual([2600]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);
  });

  test("crash window: a refund Stripe made before the process died is written once, by the retry or by refund.created", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 4000, "crash");
    // The process called Stripe and died before its ledger write, long enough ago that Stripe has
    // forgotten the idempotency key: only the refund's metadata ties it to the lot.
    const made = await fetch(`${fake.url}/v1/refunds`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ payment_intent: "pi_cs_test_crash", amount: "4000", "metadata[tollgate_workspace_id]": gw.workspaceId, "metadata[tollgate_lot_id]": lotId }),
    });
    const refund = (await made.json()) as { id: string; amount: number; payment_intent: string; status: string; metadata: Record<string, string> };
    expect(fake.refunds).toHaveLength(1);

    const retry = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ refund_id: refund.id, refunded_microcents: 4000 * CENT, lot: { remaining_microcents: 0 } });
    expect(fake.refundRequests).toHaveLength(1); // the retry found the refund and asked for no other
    expect(fake.refunds).toHaveLength(1);

    // The webhook for that refund arrives too: already written, nothing changes.
    expect((await handle(await webhook(refundEvent("evt_refund_crash", refund)))).status).toBe(200);
    expect(await entries(gw, "refund")).toEqual([{ kind: "refund", amount_microcents: -4000 * CENT, lot_id: lotId, idempotency_key: refund.id }]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("crash window without a retry: refund.created alone takes the money out of the wallet", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "webhook-only");
    const refund = { id: "re_test_webhook_only", amount: 1234, payment_intent: "pi_cs_test_webhook-only", status: "succeeded", metadata: { tollgate_workspace_id: gw.workspaceId, tollgate_lot_id: lotId } };
    for (let delivery = 0; delivery < 2; delivery++) expect((await handle(await webhook(refundEvent("evt_refund_only", refund)))).status).toBe(200);
    expect(await entries(gw, "refund")).toEqual([{ kind: "refund", amount_microcents: -1234 * CENT, lot_id: lotId, idempotency_key: "re_test_webhook_only" }]);
    expect((await lot(gw, lotId))?.remaining_microcents).toBe(2500 * CENT - 1234 * CENT);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(2500 * CENT - 1234 * CENT);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("a refund Stripe fails after making it (refund.failed, or refund.updated to failed) gives the credit back, once, into a lot that cannot be refunded again", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "bounced");
    const refund = { id: "re_test_bounced", amount: 2500, payment_intent: "pi_cs_test_bounced", status: "pending", metadata: { tollgate_workspace_id: gw.workspaceId, tollgate_lot_id: lotId } };
    expect((await handle(await webhook(refundEvent("evt_bounced_created", refund)))).status).toBe(200);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);
    // A status change that is not a failure changes nothing.
    expect((await handle(await webhook(refundEvent("evt_bounced_updated", { ...refund, status: "requires_action" }, "refund.updated")))).status).toBe(200);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);

    for (const [eventId, type] of [["evt_bounced_failed", "refund.failed"], ["evt_bounced_updated_failed", "refund.updated"], ["evt_bounced_failed", "refund.failed"]] as const) {
      expect((await handle(await webhook(refundEvent(eventId, { ...refund, status: "failed" }, type)))).status).toBe(200);
    }
    const restored = (await lots(gw)).find((row) => row.id !== lotId && row.source === "stripe");
    expect(restored).toMatchObject({ amount_microcents: 2500 * CENT, remaining_microcents: 2500 * CENT, refundable_until: null, stripe_payment_intent: null, expires_at: (await lot(gw, lotId))?.expires_at });
    expect(await entries(gw, "refund")).toEqual([
      { kind: "refund", amount_microcents: -2500 * CENT, lot_id: lotId, idempotency_key: refund.id },
      { kind: "refund", amount_microcents: 2500 * CENT, lot_id: restored?.id ?? "", idempotency_key: `${refund.id}:failed` },
    ]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(2500 * CENT);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
    // The restored credit spends as any other; it is not refundable through the API.
    const refused = await handle(post("/v1/billing/refunds", { lot_id: restored?.id }, gw.mgmtKey));
    expect(refused.status).toBe(409);
    await spend(gw, handle, "after the bounce");
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("a failed refund whose lot has expired: its credit comes back and expires with its own entry; charges go on", async () => {
    const { gw, handle } = await start({ grantUsd: 1 });
    const lotId = await buyCredit(gw, handle, 2500, "late");
    const refund = { id: "re_test_late", amount: 2500, payment_intent: "pi_cs_test_late", status: "succeeded", metadata: { tollgate_workspace_id: gw.workspaceId, tollgate_lot_id: lotId } };
    expect((await handle(await webhook(refundEvent("evt_late_created", refund)))).status).toBe(200);
    // The bought lot reaches its expiry, then Stripe fails the refund.
    gw.deps.database.sqlite.query("update credit_lots set expires_at = ? where id = ?").run(T0 - 1, lotId);
    expect((await handle(await webhook(refundEvent("evt_late_failed", { ...refund, status: "failed" }, "refund.failed")))).status).toBe(200);
    await spend(gw, handle, "charges go on");
    const expiries = await entries(gw, "expiry");
    expect(expiries.map((entry) => entry.amount_microcents)).toEqual([-2500 * CENT]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBeLessThan(USD);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("a refund that Stripe reported failed before the ledger had it is never written afterwards", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "failed-first");
    const refund = { id: "re_test_failed_first", amount: 2500, payment_intent: "pi_cs_test_failed-first", status: "failed", metadata: { tollgate_workspace_id: gw.workspaceId, tollgate_lot_id: lotId } };
    expect((await handle(await webhook(refundEvent("evt_ff_failed", refund, "refund.failed")))).status).toBe(200);
    // refund.created, delivered late, still says pending: the money must stay.
    expect((await handle(await webhook(refundEvent("evt_ff_created", { ...refund, status: "pending" })))).status).toBe(200);
    expect(await entries(gw, "refund")).toEqual([]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(2500 * CENT);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("after a refund Stripe failed (reported before the ledger had it), asking again makes a new refund, not a replay of the failed one", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "retry");
    const metadata = { tollgate_workspace_id: gw.workspaceId, tollgate_lot_id: lotId, tollgate_amount_microcents: String(2500 * CENT) };
    // A process made this refund as refundLot does (same idempotency key), then died before writing it.
    const form = new URLSearchParams({ payment_intent: "pi_cs_test_retry", amount: "2500" });
    for (const [name, value] of Object.entries(metadata)) form.set(`metadata[${name}]`, value);
    const made = (await (await fetch(`${fake.url}/v1/refunds`, { method: "POST", headers: { "idempotency-key": `refund:${lotId}:${2500 * CENT}:0` }, body: form })).json()) as { id: string };
    // Stripe fails it: its list says so, a replay of its key would still answer the original response.
    const index = fake.refunds.findIndex((refund) => refund.id === made.id);
    fake.refunds[index] = { ...(fake.refunds[index] as (typeof fake.refunds)[number]), status: "failed" };
    const failed = { id: made.id, amount: 2500, payment_intent: "pi_cs_test_retry", status: "failed", metadata };
    expect((await handle(await webhook(refundEvent("evt_retry_failed", failed, "refund.failed")))).status).toBe(200);
    expect((await handle(await webhook(refundEvent("evt_retry_created", { ...failed, status: "succeeded" })))).status).toBe(200);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(2500 * CENT);

    const again = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(again.status).toBe(200);
    expect(((await again.json()) as { refund_id: string }).refund_id).not.toBe(made.id);
    expect(fake.refundRequests.at(-1)?.idempotencyKey).toBe(`refund:${lotId}:${2500 * CENT}:1`);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("money held by calls in flight is not refunded; two refunds of one lot at once make one Stripe refund", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "busy");
    const inFlight = gw.deps.wallet.tryHold(gw.workspaceId, 20 * USD, 0);
    if (!inFlight.ok) throw new Error("hold refused");
    const busy = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(busy.status).toBe(409);
    expect(fake.refundRequests).toHaveLength(0);
    gw.deps.wallet.release(inFlight.hold);

    const [a, b] = await Promise.all([
      handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey)),
      handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey)),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(fake.refunds.map((refund) => refund.amount)).toEqual([2500]);
    expect(await entries(gw, "refund")).toHaveLength(1);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
  });

  test("Stripe refusing the refund changes nothing", async () => {
    const { gw, handle } = await start({ grantUsd: 0 });
    const lotId = await buyCredit(gw, handle, 2500, "refused");
    fake.failNextRefund(400, "invalid_request_error", "Charge ch_1 has been disputed.");
    const response = await handle(post("/v1/billing/refunds", { lot_id: lotId }, gw.mgmtKey));
    expect(response.status).toBe(502);
    expect(((await response.json()) as ErrorBody).error.message).toContain("disputed");
    expect(await entries(gw, "refund")).toEqual([]);
    expect((await lot(gw, lotId))?.remaining_microcents).toBe(2500 * CENT);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(2500 * CENT);
    expect(gw.deps.wallet.heldMicrocents(gw.workspaceId)).toBe(0);
  });
});

describe("lot expiry", () => {
  test("lots are consumed soonest-expiring first; a lot past credit_validity_days leaves through an 'expiry' entry", async () => {
    const { gw, handle } = await start({ grantUsd: 0, validityDays: 30 });
    const bought = await buyCredit(gw, handle, 2500, "expiry"); // expires T0 + 30 days
    const granted = grantCredit(gw.deps.database.db, {
      workspaceId: gw.workspaceId,
      amountMicrocents: 10 * USD,
      source: "grant",
      note: null,
      nowMs: clock.now(),
      validityDays: 90,
      idempotencyKey: "long-grant",
    }).lotId;
    gw.deps.wallet.invalidate(gw.workspaceId);

    const first = await spend(gw, handle, "spend from the lot that expires first");
    expect((await lot(gw, bought))?.remaining_microcents).toBe(2500 * CENT - first);
    expect((await lot(gw, granted))?.remaining_microcents).toBe(10 * USD);

    clock.advance(30 * DAY - 1);
    await spend(gw, handle, "still before expiry");
    expect(await entries(gw, "expiry")).toEqual([]);
    const leftInBought = (await lot(gw, bought))?.remaining_microcents ?? 0;
    expect(leftInBought).toBeGreaterThan(0);

    clock.advance(1); // `bought` expires now; the next call's wallet refresh expires it first
    const balanceBefore = readBalance(gw.deps.database.db, gw.workspaceId) ?? 0;
    const third = await spend(gw, handle, "after expiry");
    expect(await entries(gw, "expiry")).toEqual([{ kind: "expiry", amount_microcents: -leftInBought, lot_id: bought, idempotency_key: `expiry:${bought}` }]);
    expect((await lot(gw, bought))?.remaining_microcents).toBe(0);
    expect((await lot(gw, granted))?.remaining_microcents).toBe(10 * USD - third);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(balanceBefore - leftInBought - third);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);

    // The sweep takes the grant at its own expiry, with no call to trigger it; the wallet is then empty.
    clock.advance(60 * DAY);
    expect(sweepExpiredLots(gw.deps.database.db, clock.now())).toEqual([{ workspaceId: gw.workspaceId, lotId: granted, expiredMicrocents: 10 * USD - third }]);
    expect(readBalance(gw.deps.database.db, gw.workspaceId)).toBe(0);
    expect(verifyLedger(gw.deps.database.db).problems).toEqual([]);
    expect((await chat(gw, handle, "nothing left")).status).toBe(402);
  });
});
