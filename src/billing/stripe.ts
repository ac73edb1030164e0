/**
 * Stripe top-ups and refunds (SPEC §4): Checkout sessions in payment mode, signature-verified webhooks
 * that credit a lot once per payment, and refunds of a lot's unused whole cents inside the window.
 *
 * Refund protocol (the crash window between Stripe and the database):
 * 1. Check the lot (this workspace's, bought through Stripe, inside its window, expiry applied first) and
 *    take the unused part in whole cents, rounded down; the sub-cent rest stays in the wallet.
 * 2. Hold that amount in this process's wallet and mark the lot busy, so no call admitted meanwhile can
 *    spend the money being refunded and two refunds of one lot cannot overlap.
 * 3. Look for a refund of this lot that Stripe made but the ledger lacks (the process died between 4
 *    and 5 of an earlier attempt): if there is one, write it (5) and stop, without asking for another.
 * 4. Ask Stripe with idempotency key `refund:<lot id>:<remaining µ¢>` and the lot in the refund's
 *    metadata. A retry of the same state (an SDK retry after a timeout, a request racing one still at
 *    Stripe) gets the same refund back, never a second one.
 * 5. Write the 'refund' ledger entry (idempotency key = the Stripe refund id) and reduce the lot, in one
 *    transaction.
 * Should the process die between 4 and 5, the `refund.created` webhook carries the lot in its metadata
 * and writes the same entry (keyed by the same refund id, so only once), and the next refund request of
 * the lot finds it in step 3. Money that left through Stripe therefore always leaves the wallet, once.
 */

import type Stripe from "stripe";
import { eq } from "drizzle-orm";
import type { Config } from "../config/types.ts";
import type { TollgateDb } from "../db/client.ts";
import { stripeEvents, workspaces } from "../db/schema.ts";
import { GatewayError } from "../errors.ts";
import { isoFromMs, type Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { grantCredit } from "./ledger.ts";
import { expireLots, findLot, isRefundMarkedFailed, isRefundRecorded, recordLotRefund, reverseLotRefund, type LotRow } from "./lots.ts";
import { formatUsd } from "./money.ts";
import type { Wallet } from "./wallet.ts";

const DAY_MS = 86_400_000;
const MICROCENTS_PER_CENT = 1_000_000;
/** Stripe's largest USD charge: $999,999.99. */
const MAX_STRIPE_CENTS = 99_999_999;

/** What a refund needs of the wallet: a hold on the money while Stripe answers, and a fresh balance after. */
export type RefundWallet = Pick<Wallet, "tryHold" | "release" | "invalidate">;

export interface StripeServiceOptions {
  billing: Config["billing"];
  db: TollgateDb;
  wallet: RefundWallet;
  clock: Clock;
  log: Logger;
}

export interface CheckoutSessionResult {
  url: string;
  session_id: string;
}

export interface LotRefund {
  refundId: string;
  refundedMicrocents: number;
  lot: LotRow;
}

export interface WebhookOutcome {
  eventId: string;
  type: string;
  /** The event id was processed before: nothing was done this time. */
  duplicate: boolean;
  action: "credited" | "refunded" | "restored" | "recorded";
  /** The workspace whose wallet changed, if one did. */
  workspaceId: string | null;
}

/** What an event asks of the ledger, decided before the transaction (no I/O inside it). */
type EventAction =
  | { kind: "credit"; workspaceId: string; amountMicrocents: number; sessionId: string; paymentIntent: string | null }
  | { kind: "refund"; workspaceId: string; lotId: string; refundId: string; amountMicrocents: number }
  | { kind: "refund-failed"; workspaceId: string; refundId: string }
  | { kind: "record"; workspaceId: string | null; reason: string };

/** The SDK's connection options for `billing.stripe_api_base` (a local fake in tests). */
export function stripeConnectionOptions(apiBase: string | null): Pick<Stripe.StripeConfig, "host" | "port" | "protocol"> {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port || (protocol === "http" ? 80 : 443), protocol };
}

type StripeClass = typeof import("stripe").default;
let stripeModule: Promise<StripeClass> | null = null;

/** The SDK is loaded when Stripe is first used: a gateway without Stripe never pays its start-up cost. */
function loadStripe(): Promise<StripeClass> {
  stripeModule ??= import("stripe").then((module) => module.default);
  return stripeModule;
}

export class StripeService {
  private client: Promise<Stripe> | null = null;
  /** Lots with a refund on its way to Stripe in this process. */
  private readonly refundsInFlight = new Set<string>();

  constructor(private readonly options: StripeServiceOptions) {}

  private requireClient(): Promise<Stripe> {
    const { billing } = this.options;
    const secretKey = billing.stripeSecretKey;
    if (!secretKey) throw new GatewayError("invalid_request", "Stripe is not configured on this gateway (billing.stripe_secret_key is empty).");
    this.client ??= loadStripe().then(
      (StripeSdk) =>
        new StripeSdk(secretKey, {
          ...stripeConnectionOptions(billing.stripeApiBase),
          httpClient: StripeSdk.createFetchHttpClient(),
          maxNetworkRetries: 2,
          timeout: 30_000,
          telemetry: false,
        }),
    );
    return this.client;
  }

  /** A Checkout session in payment mode for `amountMicrocents` (whole cents, at least billing.min_topup_usd). */
  async createCheckoutSession(workspaceId: string, amountMicrocents: number, publicUrl: string): Promise<CheckoutSessionResult> {
    const client = await this.requireClient();
    const { minTopupMicrocents } = this.options.billing;
    if (!Number.isSafeInteger(amountMicrocents) || amountMicrocents <= 0)
      throw new GatewayError("invalid_request", "amount_usd must be a positive amount.", { param: "amount_usd" });
    if (amountMicrocents % MICROCENTS_PER_CENT !== 0)
      throw new GatewayError("invalid_request", "amount_usd must be a whole number of cents.", { param: "amount_usd" });
    if (amountMicrocents < minTopupMicrocents)
      throw new GatewayError("invalid_request", `amount_usd must be at least ${formatUsd(minTopupMicrocents)} (the minimum top-up).`, { param: "amount_usd" });
    const cents = amountMicrocents / MICROCENTS_PER_CENT;
    if (cents > MAX_STRIPE_CENTS)
      throw new GatewayError("invalid_request", `amount_usd must be at most ${formatUsd(MAX_STRIPE_CENTS * MICROCENTS_PER_CENT)}.`, { param: "amount_usd" });
    const base = publicUrl.replace(/\/+$/, "");
    const metadata = { workspace_id: workspaceId, amount_microcents: String(amountMicrocents) };
    let session: Stripe.Checkout.Session;
    try {
      session = await client.checkout.sessions.create({
        mode: "payment",
        client_reference_id: workspaceId,
        metadata,
        payment_intent_data: { metadata },
        line_items: [{ quantity: 1, price_data: { currency: "usd", unit_amount: cents, product_data: { name: "Tollgate credit" } } }],
        success_url: `${base}/?checkout=success&session_id={CHECKOUT_SESSION_ID}`,
        cancel_url: `${base}/?checkout=cancel`,
      });
    } catch (error) {
      throw stripeFailure("create the checkout session", error);
    }
    if (!session.url) throw new GatewayError("upstream_error", "Stripe created a checkout session without a URL.");
    return { url: session.url, session_id: session.id };
  }

  /**
   * Verifies a webhook on its raw body (async: the SDK's SubtleCrypto provider under Bun) and applies it
   * once per event id. A bad or missing signature is a 400 and changes nothing.
   * @see https://docs.stripe.com/webhooks#verify-events
   */
  async handleWebhook(rawBody: string, signatureHeader: string | null): Promise<WebhookOutcome> {
    const secret = this.options.billing.stripeWebhookSecret;
    if (!secret) throw new GatewayError("invalid_request", "Stripe webhooks are not configured on this gateway (billing.stripe_webhook_secret is empty).");
    if (!signatureHeader) throw new GatewayError("invalid_request", "Missing Stripe-Signature header.");
    let event: Stripe.Event;
    try {
      event = await (await loadStripe()).webhooks.constructEventAsync(rawBody, signatureHeader, secret);
    } catch (error) {
      throw new GatewayError("invalid_request", "The Stripe-Signature header does not verify for this body.", { cause: error });
    }
    return this.applyEvent(event, this.options.clock.now());
  }

  /** Records the event and does what it asks, in one transaction: a replayed event id does nothing. */
  private applyEvent(event: Stripe.Event, nowMs: number): WebhookOutcome {
    const action = this.actionFor(event);
    if (action.kind === "record" && action.reason) this.options.log.warn("stripe event not acted on", { event_id: event.id, type: event.type, reason: action.reason });
    const { db, billing } = this.options;
    return db.transaction(
      (tx) => {
        const seen = tx.select({ id: stripeEvents.eventId }).from(stripeEvents).where(eq(stripeEvents.eventId, event.id)).get();
        const base = { eventId: event.id, type: event.type };
        if (seen) return { ...base, duplicate: true, action: "recorded" as const, workspaceId: null };
        tx.insert(stripeEvents).values({ eventId: event.id, type: event.type, workspaceId: action.workspaceId, processedAt: nowMs }).run();
        // grantCredit and recordLotRefund open their own transactions: nested, they become savepoints of this one.
        if (action.kind === "credit") {
          grantCredit(db, {
            workspaceId: action.workspaceId,
            amountMicrocents: action.amountMicrocents,
            source: "stripe",
            note: `stripe checkout ${action.sessionId}`,
            nowMs,
            validityDays: billing.creditValidityDays,
            // One credit per payment, even if two events (completed, async_payment_succeeded) describe it.
            idempotencyKey: `stripe-checkout:${action.sessionId}`,
            refundableUntilMs: nowMs + billing.refundWindowDays * DAY_MS,
            stripePaymentIntent: action.paymentIntent,
          });
          return { ...base, duplicate: false, action: "credited" as const, workspaceId: action.workspaceId };
        }
        if (action.kind === "refund") {
          recordLotRefund(db, { workspaceId: action.workspaceId, lotId: action.lotId, refundId: action.refundId, amountMicrocents: action.amountMicrocents, nowMs });
          return { ...base, duplicate: false, action: "refunded" as const, workspaceId: action.workspaceId };
        }
        if (action.kind === "refund-failed") {
          const { applied } = reverseLotRefund(db, { workspaceId: action.workspaceId, refundId: action.refundId, nowMs });
          return { ...base, duplicate: false, action: applied ? ("restored" as const) : ("recorded" as const), workspaceId: applied ? action.workspaceId : null };
        }
        return { ...base, duplicate: false, action: "recorded" as const, workspaceId: null };
      },
      { behavior: "immediate" },
    );
  }

  private actionFor(event: Stripe.Event): EventAction {
    switch (event.type) {
      case "checkout.session.completed":
      case "checkout.session.async_payment_succeeded":
        return this.creditFor(event.data.object);
      case "refund.created":
        return this.refundFor(event.data.object);
      // A refund that fails after it was made (a closed card): the money never left, the credit comes back.
      case "refund.failed":
      case "refund.updated":
        return this.failedRefundFor(event.data.object);
      default:
        return { kind: "record", workspaceId: null, reason: "" };
    }
  }

  private creditFor(session: Stripe.Checkout.Session): EventAction {
    const workspaceId = session.client_reference_id;
    const skip = (reason: string): EventAction => ({ kind: "record", workspaceId, reason: `session ${session.id}: ${reason}` });
    if (session.mode !== "payment") return skip(`mode ${session.mode}`);
    if (session.payment_status !== "paid") return skip(`payment_status ${session.payment_status}`);
    if (!workspaceId) return skip("no client_reference_id");
    if (session.metadata?.workspace_id !== workspaceId) return skip("metadata.workspace_id differs from client_reference_id");
    if (session.currency !== "usd" || session.amount_total === null) return skip(`amount ${session.amount_total} ${session.currency}`);
    const amountMicrocents = session.amount_total * MICROCENTS_PER_CENT;
    if (!Number.isSafeInteger(amountMicrocents) || amountMicrocents <= 0) return skip(`amount_total ${session.amount_total}`);
    if (session.metadata.amount_microcents !== String(amountMicrocents))
      return skip(`amount_total ${amountMicrocents} µ¢ differs from the ${session.metadata.amount_microcents} µ¢ asked for; credit it by hand`);
    if (!this.workspaceExists(workspaceId)) return skip(`workspace ${workspaceId} does not exist`);
    const intent = session.payment_intent;
    return { kind: "credit", workspaceId, amountMicrocents, sessionId: session.id, paymentIntent: typeof intent === "string" ? intent : (intent?.id ?? null) };
  }

  /** A refund this gateway asked for (its lot in the metadata): the ledger catches up if the process died. */
  private refundFor(refund: Stripe.Refund): EventAction {
    const workspaceId = refund.metadata?.tollgate_workspace_id ?? null;
    const lotId = refund.metadata?.tollgate_lot_id;
    const skip = (reason: string): EventAction => ({ kind: "record", workspaceId, reason: `refund ${refund.id}: ${reason}` });
    if (!workspaceId || !lotId) return skip("not made by this gateway");
    if (refund.status === "failed" || refund.status === "canceled") return skip(`status ${refund.status}`);
    const lot = findLot(this.options.db, lotId);
    if (!lot || lot.workspaceId !== workspaceId || lot.source !== "stripe") return skip(`lot ${lotId} is not a Stripe lot of ${workspaceId}`);
    return { kind: "refund", workspaceId, lotId, refundId: refund.id, amountMicrocents: refund.amount * MICROCENTS_PER_CENT };
  }

  private failedRefundFor(refund: Stripe.Refund): EventAction {
    const workspaceId = refund.metadata?.tollgate_workspace_id ?? null;
    if (!workspaceId || !refund.metadata?.tollgate_lot_id) return { kind: "record", workspaceId, reason: `refund ${refund.id}: not made by this gateway` };
    if (refund.status !== "failed" && refund.status !== "canceled") return { kind: "record", workspaceId: null, reason: "" };
    return { kind: "refund-failed", workspaceId, refundId: refund.id };
  }

  private workspaceExists(workspaceId: string): boolean {
    return this.options.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, workspaceId)).get() !== undefined;
  }

  /**
   * Refunds the unused part of a Stripe-bought lot in whole cents (rounded down) inside its refund window.
   * Errors: not this workspace's lot → not_found; a grant, past the window, nothing left → conflict.
   */
  async refundLot(workspaceId: string, lotId: string, nowMs: number): Promise<LotRefund> {
    const client = await this.requireClient();
    const { db, wallet } = this.options;
    expireLots(db, workspaceId, nowMs);
    const lot = findLot(db, lotId);
    if (!lot || lot.workspaceId !== workspaceId) throw new GatewayError("not_found", `No credit lot ${lotId} in this workspace.`, { param: "lot_id" });
    if (lot.source !== "stripe") throw new GatewayError("conflict", `Lot ${lotId} is an operator grant; only credit bought through Stripe can be refunded.`);
    if (lot.refundableUntil === null)
      throw new GatewayError("conflict", `Lot ${lotId} is credit restored after a refund Stripe failed; the operator refunds it by hand.`);
    if (nowMs > lot.refundableUntil)
      throw new GatewayError("conflict", `Lot ${lotId} can no longer be refunded: its refund window closed at ${isoFromMs(lot.refundableUntil)}.`);
    const cents = Math.floor(lot.remainingMicrocents / MICROCENTS_PER_CENT);
    if (cents === 0) throw new GatewayError("conflict", `Lot ${lotId} has nothing left to refund (${lot.remainingMicrocents} µ¢ unused, less than one cent).`);
    const paymentIntent = lot.stripePaymentIntent;
    if (!paymentIntent) throw new GatewayError("conflict", `Lot ${lotId} has no Stripe payment to refund.`);
    if (this.refundsInFlight.has(lotId)) throw new GatewayError("conflict", `A refund of lot ${lotId} is already in progress.`);
    const amountMicrocents = cents * MICROCENTS_PER_CENT;
    const hold = wallet.tryHold(workspaceId, amountMicrocents, 0);
    if (!hold.ok) throw new GatewayError("conflict", "Part of this credit is held by calls in flight; retry the refund when they finish.");
    this.refundsInFlight.add(lotId);
    try {
      const { unrecorded, failed } = await refundsOfLot(client, db, lotId, paymentIntent);
      if (unrecorded) {
        const refundedMicrocents = unrecorded.amount * MICROCENTS_PER_CENT;
        this.options.log.warn("stripe refund found missing from the ledger; written now", { refund_id: unrecorded.id, lot_id: lotId });
        const written = recordLotRefund(db, { workspaceId, lotId, refundId: unrecorded.id, amountMicrocents: refundedMicrocents, nowMs });
        if (written.failed) throw new GatewayError("upstream_error", "Stripe did not make the refund (it failed).");
        return { refundId: unrecorded.id, refundedMicrocents, lot: written.lot };
      }
      let refund: Stripe.Refund;
      try {
        refund = await client.refunds.create(
          {
            payment_intent: paymentIntent,
            amount: cents,
            metadata: { tollgate_workspace_id: workspaceId, tollgate_lot_id: lotId, tollgate_amount_microcents: String(amountMicrocents) },
          },
          // The lot's failed refunds in the key: asking again after one failed is a new refund, not
          // Stripe's saved answer for that one.
          { idempotencyKey: `refund:${lotId}:${lot.remainingMicrocents}:${failed}` },
        );
      } catch (error) {
        throw stripeFailure("make the refund", error);
      }
      if (refund.status === "failed" || refund.status === "canceled")
        throw new GatewayError("upstream_error", `Stripe did not make the refund (status ${refund.status}).`);
      if (refund.amount !== cents) this.options.log.error("stripe refund amount differs from the one asked", { refund_id: refund.id, asked_cents: cents, refund_cents: refund.amount });
      // The ledger follows what Stripe paid out.
      const refundedMicrocents = refund.amount * MICROCENTS_PER_CENT;
      const written = recordLotRefund(db, { workspaceId, lotId, refundId: refund.id, amountMicrocents: refundedMicrocents, nowMs });
      // Its refund.failed came while Stripe answered: nothing left the wallet.
      if (written.failed) throw new GatewayError("upstream_error", "Stripe did not make the refund (it failed).");
      return { refundId: refund.id, refundedMicrocents, lot: written.lot };
    } finally {
      this.refundsInFlight.delete(lotId);
      wallet.invalidate(workspaceId);
      wallet.release(hold.hold);
    }
  }
}

/**
 * This lot's refunds at Stripe (our metadata): one it made that the ledger does not have yet (a process
 * that died while Stripe answered), and how many failed (Stripe's word, or a refund.failed we marked).
 */
async function refundsOfLot(client: Stripe, db: TollgateDb, lotId: string, paymentIntent: string): Promise<{ unrecorded: Stripe.Refund | null; failed: number }> {
  let refunds: Stripe.Refund[];
  try {
    refunds = (await client.refunds.list({ payment_intent: paymentIntent, limit: 100 })).data;
  } catch (error) {
    throw stripeFailure("list the payment's refunds", error);
  }
  const ofLot = refunds.filter((refund) => refund.metadata?.tollgate_lot_id === lotId);
  const isFailed = (refund: Stripe.Refund) => refund.status === "failed" || refund.status === "canceled" || isRefundMarkedFailed(db, refund.id);
  return {
    unrecorded: ofLot.find((refund) => !isFailed(refund) && !isRefundRecorded(db, refund.id)) ?? null,
    failed: ofLot.filter(isFailed).length,
  };
}

/** The SDK's errors carry their class name in `type` (StripeAuthenticationError, …). */
function stripeFailure(what: string, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const type = error instanceof Error ? (error as Error & { type?: unknown }).type : undefined;
  if (type === "StripeAuthenticationError" || type === "StripePermissionError")
    return new GatewayError("upstream_auth_failed", `Stripe refused this gateway's secret key; could not ${what}.`, { cause: error });
  if (type === "StripeConnectionError" || type === "StripeAPIError" || type === "StripeRateLimitError")
    return new GatewayError("upstream_error", `Stripe could not be reached to ${what}; try again.`, { cause: error });
  if (typeof type === "string" && type.startsWith("Stripe"))
    return new GatewayError("upstream_error", `Stripe refused to ${what}: ${(error as Error).message}`, { cause: error });
  return new GatewayError("internal", `Could not ${what}.`, { cause: error });
}
