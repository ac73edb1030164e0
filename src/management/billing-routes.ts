/**
 * Billing routes (SPEC §4): POST /v1/billing/checkout and /v1/billing/refunds with a management key, and
 * POST /v1/billing/webhook for Stripe (no key: its signature is verified on the raw body). Errors render
 * in OpenAI's shape.
 */

import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import { usdToMicrocents } from "../billing/money.ts";
import { StripeService } from "../billing/stripe.ts";
import type { Deps } from "../deps.ts";
import { encodeOpenAIErrorBody } from "../dialects/openai/encode-error.ts";
import { GatewayError } from "../errors.ts";
import { assertValid, parseJsonBody } from "../gateway/validate.ts";
import { authenticateRequest } from "../http/auth.ts";
import { readBodyText } from "../http/body.ts";
import { jsonResponse, renderError } from "../http/render.ts";
import { lotDocument } from "./documents.ts";
import { compileOnFirstUse } from "../lib/lazy-check.ts";

/** Closed bodies, checked by compiled TypeBox (an Elysia `body` schema would drop unknown fields silently). */
const checkoutBodyCheck = compileOnFirstUse(Type.Object({ amount_usd: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }));
const refundBodyCheck = compileOnFirstUse(Type.Object({ lot_id: Type.String({ minLength: 1 }) }, { additionalProperties: false }));

/** Small JSON bodies; Stripe's webhook payloads stay well below this too. */
const MAX_BILLING_BODY_BYTES = 64 * 1024;
const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** `stripe` defaults to one built from deps; pass the shared instance once deps carries one. */
export function billingRoutes(
  deps: Deps,
  stripe: StripeService = new StripeService({ billing: deps.config.billing, db: deps.database.db, wallet: deps.wallet, clock: deps.clock, log: deps.log }),
) {
  const limit = (bytes: number) => Math.min(deps.config.server.maxBodyBytes, bytes);
  return new Elysia({ name: "tollgate.billing" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderError(deps, code, error, request, encodeOpenAIErrorBody))
    .post("/v1/billing/checkout", async ({ request }) => {
      const principal = await authenticateRequest(deps, request, "mgmt");
      const body = parseJsonBody(await readBodyText(request, limit(MAX_BILLING_BODY_BYTES)));
      assertValid(checkoutBodyCheck, body);
      const amount = usdToMicrocents(body.amount_usd);
      if (amount === null || amount > BigInt(Number.MAX_SAFE_INTEGER))
        throw new GatewayError("invalid_request", "amount_usd must be a USD amount in whole cents.", { param: "amount_usd" });
      return jsonResponse(request, await stripe.createCheckoutSession(principal.workspaceId, Number(amount), deps.config.server.publicUrl));
    })
    .post("/v1/billing/refunds", async ({ request }) => {
      const principal = await authenticateRequest(deps, request, "mgmt");
      const body = parseJsonBody(await readBodyText(request, limit(MAX_BILLING_BODY_BYTES)));
      assertValid(refundBodyCheck, body);
      const refund = await stripe.refundLot(principal.workspaceId, body.lot_id, deps.clock.now());
      deps.wallet.invalidate(principal.workspaceId);
      return jsonResponse(request, { refund_id: refund.refundId, refunded_microcents: refund.refundedMicrocents, lot: lotDocument(refund.lot) });
    })
    .post(
      "/v1/billing/webhook",
      async ({ request }) => {
        // The signature covers the exact bytes Stripe sent: read them raw, never through a parser.
        const outcome = await stripe.handleWebhook(await readBodyText(request, MAX_WEBHOOK_BODY_BYTES), request.headers.get("stripe-signature"));
        if (outcome.workspaceId) deps.wallet.invalidate(outcome.workspaceId);
        return jsonResponse(request, { received: true });
      },
      { parse: "none" },
    );
}
