/**
 * runChat: one inference call through the named stages (STYLE "The request pipeline"). Accept,
 * authenticate and decode happened in the dialect's route; this runs the rest:
 *
 * 4. resolve   — the model id (exact or alias glob) → profile; capability checks.
 * 5. plan      — the profile's channels, in route order, that have an adapter.
 * 6. reserve   — hold the estimated maximum cost (input estimate + output allowance at the first
 *                channel's price), at least the per-call minimum; 402 (recorded as refused) otherwise.
 * 7. dispatch  — try channels in order; a retryable failure before the upstream accepted moves on.
 * 8. relay     — stream: canonical events → the client's wire format (relay.ts); non-stream: encode.
 * 9. settle    — exactly once: record + charge at the served channel's price (settle.ts).
 * Errors are GatewayErrors; the route renders them in the client's dialect.
 */

import { ceilDiv, estimateMaxCost } from "../billing/pricing.ts";
import { formatUsd } from "../billing/money.ts";
import type { ChatRequest } from "../canonical/request.ts";
import type { ChatResult } from "../canonical/result.ts";
import { estimateRequestTokens } from "../canonical/token-estimate.ts";
import type { ChannelConfig, ModelProfile } from "../config/types.ts";
import { formatRoute } from "../config/route.ts";
import { GatewayError, toGatewayError } from "../errors.ts";
import { H } from "../http/headers.ts";
import type { ProviderAdapter } from "../providers/types.ts";
import type { RequestContext } from "./context.ts";
import { relayStream } from "./relay.ts";
import type { GatewayServices } from "./services.ts";
import { CallSettlement } from "./settle.ts";
import type { EncodeMeta, StreamEncoder } from "./summary.ts";
import { SSE_HEADERS } from "../sse/encode.ts";
import { emptyUsage } from "../canonical/usage.ts";

export interface DialectCodec {
  encodeResponse(result: ChatResult, meta: EncodeMeta): string;
  createStreamEncoder(meta: EncodeMeta): StreamEncoder;
}

export interface InferenceOutcome {
  status: number;
  headers: Record<string, string>;
  body: string | ReadableStream<Uint8Array>;
}

interface PlannedChannel {
  channel: ChannelConfig;
  adapter: ProviderAdapter;
}

function resolveProfile(services: GatewayServices, request: ChatRequest): ModelProfile {
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
  if (planned.length === 0)
    throw new GatewayError("no_healthy_channel", `No channel can serve '${profile.id}' right now.`);
  return planned;
}

function usageEventWanted(ctx: RequestContext): boolean {
  const header = ctx.headers.get(H.usageEvent)?.trim();
  if (header === "1") return true;
  if (header === "0") return false;
  return ctx.principal.keyUsageEvent ?? ctx.principal.workspaceUsageEvent;
}

function insufficientBalance(available: number, inputTokens: number, first: ChannelConfig, estimate: bigint): GatewayError {
  const price = first.price;
  const inputCost = ceilDiv(BigInt(inputTokens) * price.inputPerMtok, 1_000_000n);
  const spare = BigInt(Math.max(available, 0)) - inputCost;
  const affordable = price.outputPerMtok > 0n && spare > 0n ? (spare * 1_000_000n) / price.outputPerMtok : 0n;
  const hint = affordable > 0n ? ` The balance allows max_tokens up to ${affordable}.` : " Top up the wallet to continue.";
  return new GatewayError(
    "insufficient_balance",
    `Insufficient balance: ${formatUsd(Math.max(available, 0))} available, this call may cost up to ${formatUsd(estimate)}.${hint}`,
  );
}

export async function runChat(
  services: GatewayServices,
  ctx: RequestContext,
  request: ChatRequest,
  codec: DialectCodec,
): Promise<InferenceOutcome> {
  const profile = resolveProfile(services, request);
  const maxTokens = Math.min(request.maxTokens ?? profile.maxOutputTokens, profile.maxOutputTokens);
  const planned = planChannels(services, profile);
  const route = ctx.headers.get(H.route) ?? ctx.principal.keyRoute ?? ctx.principal.workspaceRoute ?? formatRoute(services.config.routing.default);

  const inputEstimate = estimateRequestTokens(request);
  const first = planned[0] as PlannedChannel;
  const estimate = estimateMaxCost(inputEstimate, maxTokens, first.channel.price);
  const minimum = services.config.billing.perCallMinimumMicrocents;
  const holdAmount = Number(estimate > BigInt(minimum) ? estimate : BigInt(minimum));
  const held = services.wallet.tryHold(ctx.principal.workspaceId, holdAmount, minimum);
  if (!held.ok) {
    const error = insufficientBalance(held.availableMicrocents, inputEstimate, first.channel, estimate);
    new CallSettlement(services, ctx, { model: request.model, stream: request.stream, route, hold: null }).finish({
      status: "refused", httpStatus: error.status, errorCode: error.kind, usage: emptyUsage(), billable: false, ttftMs: null,
    });
    throw error;
  }
  const settlement = new CallSettlement(services, ctx, { model: request.model, stream: request.stream, route, hold: held.hold });
  const meta: EncodeMeta = {
    model: request.model,
    createdSec: Math.floor(ctx.startedAtMs / 1000),
    includeUsage: request.includeUsage,
    usageEvent: usageEventWanted(ctx),
  };
  const abort = new AbortController();
  const onClientGone = () => abort.abort();
  ctx.signal.addEventListener("abort", onClientGone, { once: true });

  let lastError: GatewayError | null = null;
  for (const { channel, adapter } of planned) {
    const callContext = { channel, apiKey: channel.provider.apiKey, maxTokens, signal: abort.signal };
    try {
      if (request.stream) {
        const events = await adapter.stream(request, callContext);
        settlement.serve(profile, channel);
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: null });
        const body = relayStream(services, events, codec.createStreamEncoder(meta), settlement, abort, ctx.startedAtPerf);
        return {
          status: 200,
          headers: {
            ...SSE_HEADERS,
            ...requestIdHeaders(ctx.requestId),
            [H.billedModel]: profile.id,
            [H.tokensInput]: String(inputEstimate),
          },
          body,
        };
      }
      const result = await adapter.complete(request, callContext);
      settlement.serve(profile, channel);
      settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: null });
      const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage: result.usage, billable: true, ttftMs: null });
      ctx.signal.removeEventListener("abort", onClientGone);
      return {
        status: 200,
        headers: {
          "content-type": "application/json",
          ...requestIdHeaders(ctx.requestId),
          [H.billedModel]: profile.id,
          [H.costMicrocents]: String(summary.cost_microcents),
          [H.tokensInput]: String(summary.usage.input_tokens),
          [H.tokensOutput]: String(summary.usage.output_tokens),
          [H.tokensCacheRead]: String(summary.usage.cache_read_tokens),
          [H.tokensCacheCreation]: String(summary.usage.cache_creation_tokens),
          [H.tokensReasoning]: String(summary.usage.reasoning_tokens),
        },
        body: codec.encodeResponse(result, meta),
      };
    } catch (thrown) {
      const error = ctx.signal.aborted ? new GatewayError("client_disconnected", "The client went away.") : toGatewayError(thrown);
      settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: error.kind });
      lastError = error;
      if (!error.retryable || ctx.signal.aborted) break;
    }
  }
  ctx.signal.removeEventListener("abort", onClientGone);
  const failure = lastError ?? new GatewayError("no_healthy_channel", `No channel can serve '${profile.id}' right now.`);
  settlement.finish({ status: "error", httpStatus: failure.status, errorCode: failure.kind, usage: emptyUsage(), billable: false, ttftMs: null });
  throw failure;
}

export function requestIdHeaders(requestId: string): Record<string, string> {
  return { [H.requestId]: requestId, [H.requestIdSdk]: requestId, [H.requestIdAnthropic]: requestId };
}
