/**
 * runChat: one inference call through the named stages (STYLE "The request pipeline"). Accept,
 * authenticate and decode happened in the dialect's route; this runs the rest:
 *
 * 4. resolve   — the model id (exact or alias glob) → profile; capability checks.
 * 5. admit     — the workspace's rate limits: 1 request + the token estimate (admit.ts).
 *    plan      — the profile's channels, in route order.
 * 6. reserve   — hold the estimated maximum cost, at least the per-call minimum (reserve.ts).
 * 7. dispatch  — try channels in order (dispatch.ts); a retryable failure before the upstream
 *                accepted moves on; an upstream 4xx goes back to the caller (verbatim to a same-dialect one).
 * 8. relay     — streams: relay.ts (translated) or passthrough-relay.ts (same dialect).
 * 9. settle    — exactly once: record + charge at the served channel's price (settle.ts).
 * Errors are GatewayErrors; the route renders them in the client's dialect.
 */

import type { ChatRequest } from "../canonical/request.ts";
import { estimateRequestTokens } from "../canonical/token-estimate.ts";
import { emptyUsage } from "../canonical/usage.ts";
import { formatRoute } from "../config/route.ts";
import type { ChannelConfig, ModelProfile } from "../config/types.ts";
import { GatewayError, toGatewayError } from "../errors.ts";
import type { ProviderAdapter } from "../providers/types.ts";
import type { DecodedCall, DialectCodec } from "./codec.ts";
import type { RequestContext } from "./context.ts";
import { dispatchPassthrough, dispatchTranslated, passthroughFor, type InferenceOutcome } from "./dispatch.ts";
import { admit } from "./admit.ts";
import { reserve } from "./reserve.ts";
import type { GatewayServices } from "./services.ts";
import { CallSettlement } from "./settle.ts";
import type { EncodeMeta } from "./summary.ts";

export type { InferenceOutcome } from "./dispatch.ts";

interface PlannedChannel {
  channel: ChannelConfig;
  adapter: ProviderAdapter;
}

export function resolveProfile(services: GatewayServices, request: ChatRequest): ModelProfile {
  const profile = services.catalog.resolve(request.model);
  if (!profile) throw new GatewayError("model_not_found", `The model '${request.model}' does not exist.`, { param: "model" });
  if (request.tools.length > 0 && !profile.capabilities.has("tools"))
    throw new GatewayError("invalid_request", `The model '${request.model}' does not support tools.`, { param: "tools" });
  const hasImage = request.messages.some((message) => message.content.some((block) => block.type === "image"));
  if (hasImage && !profile.capabilities.has("vision"))
    throw new GatewayError("invalid_request", `The model '${request.model}' does not accept images.`, { param: "messages" });
  return profile;
}

function planChannels(services: GatewayServices, profile: ModelProfile): PlannedChannel[] {
  const planned: PlannedChannel[] = [];
  for (const channel of profile.channels) {
    const adapter = services.adapters.get(channel.provider.id);
    if (adapter) planned.push({ channel, adapter });
  }
  if (planned.length === 0) throw new GatewayError("no_healthy_channel", `No channel can serve '${profile.id}' right now.`);
  return planned;
}

function usageEventWanted(ctx: RequestContext): boolean {
  return ctx.options.usageEvent ?? ctx.principal.keyUsageEvent ?? ctx.principal.workspaceUsageEvent;
}

/** The route as applied: header > key > workspace > config (SPEC §5). */
export function applicableRoute(services: GatewayServices, ctx: RequestContext): string {
  return ctx.options.route ?? ctx.principal.keyRoute ?? ctx.principal.workspaceRoute ?? formatRoute(services.config.routing.default);
}

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

export async function runChat(services: GatewayServices, ctx: RequestContext, call: DecodedCall, codec: DialectCodec): Promise<InferenceOutcome> {
  const request = call.request;
  const profile = resolveProfile(services, request);
  const maxTokens = Math.min(request.maxTokens ?? profile.maxOutputTokens, profile.maxOutputTokens);
  const planned = planChannels(services, profile);
  const route = applicableRoute(services, ctx);

  const inputEstimate = estimateRequestTokens(request);
  const ticket = admit(services, ctx, inputEstimate + maxTokens);
  const record = { model: request.model, stream: request.stream, route };
  const byokFee = ctx.options.byok ? services.config.billing.byokFeeMicrocents : null;
  const { hold, candidates } = reserve(services, ctx, {
    inputTokens: inputEstimate,
    maxOutputTokens: maxTokens,
    candidates: planned,
    record,
    flatFeeMicrocents: byokFee,
    ticket,
  });
  const settlement = new CallSettlement(services, ctx, { ...record, hold, byokFeeMicrocents: byokFee, ticket });
  const meta: EncodeMeta = {
    model: request.model,
    createdSec: Math.floor(ctx.startedAtMs / 1000),
    includeUsage: request.includeUsage,
    usageEvent: usageEventWanted(ctx),
  };
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  ctx.signal.addEventListener("abort", onClientGone, { once: true });
  const timeouts = services.config.routing;

  let lastError: GatewayError | null = null;
  for (const { channel, adapter } of candidates) {
    const passthrough = passthroughFor(adapter, codec.dialect);
    let apiKey = channel.provider.apiKey;
    if (ctx.options.byok) {
      try {
        apiKey = await byokKeyFor(services, ctx, channel);
      } catch (thrown) {
        lastError = toGatewayError(thrown);
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: lastError.code });
        break;
      }
    }
    const input = {
      services, ctx, call, codec, profile, channel, adapter, settlement, meta, abort, inputEstimate,
      callContext: {
        channel,
        apiKey,
        maxTokens,
        signal: abort.signal,
        headersTimeoutMs: request.stream ? timeouts.firstByteTimeoutMs : timeouts.requestTimeoutMs,
        forwardHeaders: passthrough ? ctx.options.forwardHeaders : {},
      },
    };
    try {
      const outcome = passthrough ? await dispatchPassthrough(input, passthrough) : await dispatchTranslated(input);
      settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: null });
      if (!request.stream) ctx.signal.removeEventListener("abort", onClientGone);
      return outcome;
    } catch (thrown) {
      let error = ctx.signal.aborted ? new GatewayError("client_disconnected", "The client went away.") : toGatewayError(thrown);
      // A same-dialect client gets the upstream's own error body, byte for byte (SPEC §7).
      if (passthrough && error.isForwardedUpstreamError) error = error.verbatim();
      // The workspace's own key was refused: the caller's problem, not the channel's (SPEC §7).
      if (ctx.options.byok && error.kind === "upstream_auth_failed") error = byokRejected(channel, error);
      settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: error.code });
      lastError = error;
      if (!error.retryable || ctx.signal.aborted) break;
    }
  }
  ctx.signal.removeEventListener("abort", onClientGone);
  const failure = lastError ?? new GatewayError("no_healthy_channel", `No channel can serve '${profile.id}' right now.`);
  settlement.finish({ status: "error", httpStatus: failure.status, errorCode: failure.code, usage: emptyUsage(), billable: false, ttftMs: null });
  throw failure;
}
