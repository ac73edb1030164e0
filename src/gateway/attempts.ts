/**
 * The dispatch loop (SPEC §5, §7): candidates in order until one is accepted.
 *
 * 1. A transient failure (5xx, 429, timeout, connection, a stream failing before its first event)
 *    counts against the channel's health and moves on: the model's other channels, then fallback models.
 * 2. An upstream 401/403 tries the model's other channels, never a fallback model, and ends as
 *    502 upstream_auth_failed (with BYOK: 400 byok_key_rejected, the workspace's key).
 * 3. Any other upstream 4xx goes back to the caller as it is (byte for byte to a same-dialect client).
 * 4. A pricier candidate than the hold covers needs the difference held too, else it is skipped.
 * 5. When every try was rate-limited: 429 upstream_rate_limited with the shortest Retry-After (1 s if none).
 * Nothing accepted → the call is recorded with its attempts and bills nothing.
 */

import { countRequestTokens } from "../canonical/token-count.ts";
import type { ChannelConfig, ModelProfile } from "../config/types.ts";
import { GatewayError, toGatewayError } from "../errors.ts";
import type { CallAbort } from "./abort.ts";
import type { Candidate } from "./candidates.ts";
import type { DecodedCall, DialectCodec } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { dispatchPassthrough, dispatchTranslated, passthroughFor, type InferenceOutcome } from "./dispatch.ts";
import { estimateFor, type ReserveInput } from "./reserve.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement } from "./settle.ts";
import type { EncodeMeta } from "./summary.ts";

export interface AttemptsInput {
  services: GatewayServices;
  ctx: RequestContext;
  call: DecodedCall;
  codec: DialectCodec;
  settlement: CallSettlement;
  meta: EncodeMeta;
  abort: CallAbort;
  inputEstimate: number;
  candidates: Candidate[];
  reserveInput: ReserveInput<Candidate>;
  maxTokensFor: (profile: ModelProfile) => number;
}

const DEFAULT_RATE_LIMIT_RETRY_MS = 1000;

/** The workspace's uploaded key for the channel's BYOK slot (400 byok_key_missing without one). */
async function byokKeyFor(services: GatewayServices, ctx: RequestContext, channel: ChannelConfig): Promise<string> {
  const slot = channel.provider.byokSlot;
  if (slot === null)
    throw new GatewayError("byok_key_missing", `The provider '${channel.provider.id}' serving this model takes no BYOK key (it has no byok slot).`);
  return services.byok.resolveKey(ctx.principal.workspaceId, slot);
}

function byokRejected(channel: ChannelConfig, cause: GatewayError): GatewayError {
  // The upstream's body stays in `cause` (logged): the code the caller sees is Tollgate's own.
  return new GatewayError("byok_key_rejected", `The provider '${channel.provider.id}' refused the workspace's BYOK key; upload a valid one.`, { cause });
}

/** The error the caller gets when nothing was accepted. */
function finalError(errors: GatewayError[], primaryId: string): GatewayError {
  const last = errors.at(-1);
  if (!last) return new GatewayError("no_healthy_channel", `No channel can serve '${primaryId}' right now.`);
  if (errors.every((error) => error.kind === "upstream_rate_limited")) {
    const waits = errors.flatMap((error) => (error.retryAfterMs === undefined ? [] : [error.retryAfterMs]));
    const retryAfterMs = waits.length > 0 ? Math.min(...waits) : DEFAULT_RATE_LIMIT_RETRY_MS;
    return new GatewayError("upstream_rate_limited", "Every upstream tried is rate-limiting this model right now.", { retryAfterMs, retryable: true });
  }
  if (last.kind === "upstream_error" || last.kind === "upstream_timeout") {
    // One message for the caller, not the last provider's wording.
    return new GatewayError(last.kind, `No upstream could serve the call (${errors.length} tried): ${last.message}`, { retryable: true });
  }
  return last;
}

export async function runAttempts(input: AttemptsInput): Promise<InferenceOutcome> {
  const { services, ctx, call, codec, settlement, meta, abort } = input;
  const request = call.request;
  const timeouts = services.config.routing;
  let heldMicrocents = settlement.heldMicrocents;
  const errors: GatewayError[] = [];
  let authFailedProfile: string | null = null;

  for (const candidate of input.candidates) {
    const { profile, channel, adapter } = candidate;
    // An operator's key refused on this model: its other channels may work, other models are not tried.
    if (authFailedProfile !== null && profile.id !== authFailedProfile) break;
    const estimate = Number(estimateFor(input.reserveInput, candidate));
    if (estimate > heldMicrocents) {
      // A pricier candidate (a fallback model) must fit the caps and the balance with what it adds.
      if (!services.spend.check(ctx.principal.workspaceId, ctx.principal, estimate - heldMicrocents).ok) {
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: "quota_exceeded" });
        continue;
      }
      const extra = services.wallet.tryHold(ctx.principal.workspaceId, estimate - heldMicrocents, 0);
      if (!extra.ok) {
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: "insufficient_balance" });
        continue;
      }
      settlement.addHold(extra.hold);
      services.spend.reserve(ctx.principal.workspaceId, extra.hold.amountMicrocents);
      heldMicrocents = estimate;
    }
    const passthrough = passthroughFor(adapter, codec.dialect);
    let apiKey = channel.provider.apiKey;
    if (ctx.options.byok) {
      try {
        apiKey = await byokKeyFor(services, ctx, channel);
      } catch (thrown) {
        const error = toGatewayError(thrown);
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: error.code });
        errors.push(error);
        break;
      }
    }
    services.health.begin(channel.key);
    const dispatch = {
      services, ctx, call, codec, profile, channel, adapter, settlement, meta, abort: abort.controller, inputEstimate: input.inputEstimate,
      firstByteTimeoutMs: timeouts.firstByteTimeoutMs,
      callContext: {
        channel,
        apiKey,
        maxTokens: input.maxTokensFor(profile),
        signal: abort.signal,
        // A non-stream call waits for headers as long as the call may last: its own deadline (CallAbort's
        // request_timeout_ms, which started first) bounds that, so the try needs no timer of its own.
        headersTimeoutMs: request.stream ? timeouts.firstByteTimeoutMs : null,
        forwardHeaders: passthrough ? ctx.options.forwardHeaders : {},
        onAccepted: () => settlement.accept(profile, channel),
      },
    };
    try {
      const outcome = passthrough ? await dispatchPassthrough(dispatch, passthrough) : await dispatchTranslated(dispatch);
      // A stream's timer and listener live until the stream ends, then go (a live timer keeps the process up).
      if (request.stream) void settlement.ended.then(() => abort.dispose());
      else abort.dispose();
      return outcome;
    } catch (thrown) {
      let error = abort.reason ?? toGatewayError(thrown);
      if (error.kind === "client_disconnected") {
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: error.code });
        errors.push(error);
        break;
      }
      // A same-dialect client gets the upstream's own error body, byte for byte (SPEC §7).
      if (passthrough && error.isForwardedUpstreamError) error = error.verbatim();
      // A BYOK call's failures are its workspace's key's (refused, out of quota, unusable): they never
      // count against the channel that every workspace shares, or one key could open its breaker for all.
      if (ctx.options.byok && error.kind === "upstream_auth_failed") error = byokRejected(channel, error);
      else if (error.retryable && !ctx.options.byok) services.health.recordFailure(channel.key);
      if (error.kind === "upstream_auth_failed") {
        authFailedProfile = profile.id;
        error = new GatewayError("upstream_auth_failed", `The provider '${channel.provider.id}' refused the gateway's credentials; the operator must fix its key.`, {
          retryable: true,
          cause: error,
        });
      }
      settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: error.code });
      errors.push(error);
      if (!error.retryable || abort.reason) break;
    }
  }
  abort.dispose();
  const failure = finalError(errors, input.candidates[0]?.profile.id ?? call.request.model);
  // An upstream that answered 2xx and then failed, or the client left, before any output reached the
  // gateway: its input is billed all the same, by the gateway's own count where it reported none.
  throw await settlement.failed(failure, () => countRequestTokens(request).catch(() => input.inputEstimate));
}
