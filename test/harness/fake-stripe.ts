/**
 * A local fake of the few Stripe endpoints Tollgate calls (Bun.serve on 127.0.0.1:0): checkout sessions,
 * refunds and the refund list, form-encoded as the SDK sends them. It records every call and honours Idempotency-Key on
 * refunds (same key → the same refund, recorded once), like Stripe.
 */

export interface FakeStripeCall {
  path: string;
  /** The form body, decoded: `metadata[workspace_id]` etc. as flat keys. */
  form: Record<string, string>;
  idempotencyKey: string | null;
  authorization: string | null;
}

export interface FakeRefund {
  id: string;
  object: "refund";
  amount: number;
  currency: "usd";
  payment_intent: string;
  status: string;
  metadata: Record<string, string>;
}

export interface FakeStripe {
  /** http://127.0.0.1:PORT, for billing.stripe_api_base. */
  url: string;
  sessions: FakeStripeCall[];
  /** One entry per refund made (idempotent replays are not recorded again). */
  refunds: FakeRefund[];
  /** Every POST /v1/refunds received, replays included. */
  refundRequests: FakeStripeCall[];
  /** Makes the next refund calls fail with this HTTP status and Stripe error (once per entry). */
  failNextRefund(status: number, type: string, message: string): void;
  stop(): Promise<void>;
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_test_${Date.now().toString(36)}${(counter++).toString(36).padStart(4, "0")}`;

function metadataOf(form: Record<string, string>): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(form)) {
    const match = /^metadata\[(.+)\]$/.exec(name);
    if (match?.[1]) metadata[match[1]] = value;
  }
  return metadata;
}

function stripeError(status: number, type: string, message: string): Response {
  return Response.json({ error: { type, message } }, { status });
}

export function startFakeStripe(): FakeStripe {
  const sessions: FakeStripeCall[] = [];
  const refunds: FakeRefund[] = [];
  const refundRequests: FakeStripeCall[] = [];
  const byKey = new Map<string, FakeRefund>();
  const failures: Array<{ status: number; type: string; message: string }> = [];

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const call: FakeStripeCall = {
        path,
        form: Object.fromEntries(new URLSearchParams(await request.text())),
        idempotencyKey: request.headers.get("idempotency-key"),
        authorization: request.headers.get("authorization"),
      };
      if (request.method === "POST" && path === "/v1/checkout/sessions") {
        sessions.push(call);
        const id = nextId("cs");
        return Response.json({
          id,
          object: "checkout.session",
          mode: call.form.mode ?? null,
          url: `https://checkout.stripe.test/c/pay/${id}`,
          client_reference_id: call.form.client_reference_id ?? null,
          metadata: metadataOf(call.form),
          payment_status: "unpaid",
          status: "open",
        });
      }
      if (request.method === "POST" && path === "/v1/refunds") {
        refundRequests.push(call);
        const failure = failures.shift();
        if (failure) return stripeError(failure.status, failure.type, failure.message);
        const known = call.idempotencyKey ? byKey.get(call.idempotencyKey) : undefined;
        if (known) return Response.json(known, { headers: { "idempotent-replayed": "true" } });
        const amount = Number(call.form.amount);
        if (!Number.isInteger(amount) || amount <= 0) return stripeError(400, "invalid_request_error", "Invalid positive integer: amount");
        const refund: FakeRefund = {
          id: nextId("re"),
          object: "refund",
          amount,
          currency: "usd",
          payment_intent: call.form.payment_intent ?? "",
          status: "succeeded",
          metadata: metadataOf(call.form),
        };
        refunds.push(refund);
        if (call.idempotencyKey) byKey.set(call.idempotencyKey, refund);
        return Response.json(refund);
      }
      if (request.method === "GET" && path === "/v1/refunds") {
        const paymentIntent = new URL(request.url).searchParams.get("payment_intent");
        const data = refunds.filter((refund) => !paymentIntent || refund.payment_intent === paymentIntent).reverse();
        return Response.json({ object: "list", url: "/v1/refunds", has_more: false, data });
      }
      return stripeError(404, "invalid_request_error", `Unrecognized request URL (${request.method}: ${path}).`);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    sessions,
    refunds,
    refundRequests,
    failNextRefund(status, type, message) {
      failures.push({ status, type, message });
    },
    stop: () => server.stop(true),
  };
}
