/**
 * runChat: one inference call through the named stages (STYLE "The request pipeline"). Accept,
 * authenticate and decode happened in the dialect's route; this runs the rest:
 *
 * 4. resolve   — the model id (exact or alias glob) → profile; capability checks (candidates.ts).
 * 5. admit     — the workspace's rate limits: 1 request + the token estimate (admit.ts).
 * 6. plan      — the model's channels in route order, then the fallback models' (candidates.ts).
 * 7. reserve   — max price, quota, balance; hold the estimate (reserve.ts).
 * 8. dispatch  — candidates in order (dispatch.ts, attempts.ts): a transient failure before the first
 *                byte moves on (the model's other channels, then fallback models); an upstream 4xx goes
 *                back to the caller (verbatim to a same-dialect one).
 * 9. relay     — streams: relay.ts (translated) or passthrough-relay.ts (same dialect).
 * 10. settle   — exactly once: record + charge at the served channel's price (settle.ts).
 * Errors are GatewayErrors; the route renders them in the client's dialect.
 */

import { estimateRequestTokens } from "../canonical/token-estimate.ts";
import { emptyUsage } from "../canonical/usage.ts";
import { GatewayError } from "../errors.ts";
import type { ModelProfile } from "../config/types.ts";
import { CallAbort } from "./abort.ts";
import { admit, peekRateLimit } from "./admit.ts";
import { runAttempts } from "./attempts.ts";
import { applicableRoute, planCandidates, resolveProfile, type Candidate } from "./candidates.ts";
import type { DecodedCall, DialectCodec } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import type { InferenceOutcome } from "./dispatch.ts";
import { reserve } from "./reserve.ts";
import type { GatewayServices } from "./services.ts";
import { CallSettlement } from "./settle.ts";
import type { EncodeMeta } from "./summary.ts";

export type { InferenceOutcome } from "./dispatch.ts";
export { applicableRoute, resolveProfile } from "./candidates.ts";

function usageEventWanted(ctx: RequestContext): boolean {
  return ctx.options.usageEvent ?? ctx.principal.keyUsageEvent ?? ctx.principal.workspaceUsageEvent;
}

export async function runChat(services: GatewayServices, ctx: RequestContext, call: DecodedCall, codec: DialectCodec): Promise<InferenceOutcome> {
  const request = call.request;
  const primary = resolveProfile(services, request);
  const maxTokensFor = (profile: ModelProfile) => Math.min(request.maxTokens ?? profile.maxOutputTokens, profile.maxOutputTokens);
  const route = applicableRoute(services, ctx);
  const inputEstimate = estimateRequestTokens(request);
  const ticket = admit(services, ctx, inputEstimate + maxTokensFor(primary));
  const record = { model: request.model, stream: request.stream, route: route.text };
  const byokFee = ctx.options.byok ? services.config.billing.byokFeeMicrocents : null;
  let planned: Candidate[];
  try {
    planned = planCandidates(services, ctx, request, primary, route.route);
  } catch (error) {
    // Past admission the call is recorded (503 no_healthy_channel, an unknown fallback model), and
    // its tokens go back to the bucket, as the headers of its error then say.
    const failed = new CallSettlement(services, ctx, { ...record, hold: null, byokFeeMicrocents: byokFee, ticket });
    const gatewayError = error instanceof GatewayError ? error : null;
    failed.finish({ status: "error", httpStatus: gatewayError?.status ?? 500, errorCode: gatewayError?.kind ?? "internal", usage: emptyUsage(), billable: false, ttftMs: null });
    peekRateLimit(services, ctx);
    throw error;
  }
  const reserveInput = {
    inputTokens: inputEstimate,
    maxOutputTokens: (candidate: Candidate) => maxTokensFor(candidate.profile),
    candidates: planned,
    record,
    flatFeeMicrocents: byokFee,
    ticket,
  };
  const { hold, candidates } = reserve(services, ctx, reserveInput);
  const settlement = new CallSettlement(services, ctx, { ...record, hold, byokFeeMicrocents: byokFee, ticket });
  const meta: EncodeMeta = {
    model: request.model,
    createdSec: Math.floor(ctx.startedAtMs / 1000),
    includeUsage: request.includeUsage,
    usageEvent: usageEventWanted(ctx),
  };
  const abort = new CallAbort(ctx.signal, services.config.routing.requestTimeoutMs);
  return runAttempts({ services, ctx, call, codec, settlement, meta, abort, inputEstimate, candidates, reserveInput, maxTokensFor });
}
