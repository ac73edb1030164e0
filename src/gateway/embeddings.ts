/**
 * runEmbeddings: POST /v1/embeddings (OpenAI shape) through the same stages as chat: resolve a model with
 * the `embeddings` capability, reserve its input cost, try its channels in order, settle the upstream's
 * input usage. The upstream's body goes back unchanged apart from the model id.
 */

import { estimateTextTokens } from "../canonical/token-estimate.ts";
import { emptyUsage } from "../canonical/usage.ts";
import { GatewayError, toGatewayError } from "../errors.ts";
import type { RequestContext } from "./context.ts";
import type { InferenceOutcome } from "./dispatch.ts";
import { applicableRoute } from "./candidates.ts";
import { CallAbort } from "./abort.ts";
import { admit } from "./admit.ts";
import { reserve } from "./reserve.ts";
import type { GatewayServices } from "./services.ts";
import { CallSettlement } from "./settle.ts";

function estimateEmbeddingInput(input: unknown): number {
  if (typeof input === "string") return estimateTextTokens(input);
  if (!Array.isArray(input)) return 0;
  let tokens = 0;
  for (const item of input) {
    if (typeof item === "string") tokens += estimateTextTokens(item);
    else if (typeof item === "number") tokens += 1;
    else if (Array.isArray(item)) tokens += item.length;
  }
  return tokens;
}

export async function runEmbeddings(services: GatewayServices, ctx: RequestContext, raw: Record<string, unknown>): Promise<InferenceOutcome> {
  const model = String(raw.model);
  const profile = services.catalog.resolve(model);
  if (!profile) throw new GatewayError("model_not_found", `The model '${model}' does not exist.`, { param: "model" });
  if (!profile.capabilities.has("embeddings"))
    throw new GatewayError("invalid_request", `The model '${model}' does not serve embeddings.`, { param: "model" });
  const channels = profile.channels.flatMap((channel) => {
    const adapter = services.adapters.get(channel.provider.id);
    return adapter?.embeddings ? [{ channel, adapter, embeddings: adapter.embeddings.bind(adapter) }] : [];
  });
  const first = channels[0];
  if (!first) throw new GatewayError("no_healthy_channel", `No channel can serve embeddings for '${profile.id}'.`);
  const route = applicableRoute(services, ctx).text;
  const inputEstimate = Math.max(1, estimateEmbeddingInput(raw.input));
  const ticket = admit(services, ctx, inputEstimate);
  const record = { model, stream: false, route };
  const { hold, candidates } = reserve(services, ctx, { inputTokens: inputEstimate, maxOutputTokens: 0, candidates: channels, record, ticket });
  const settlement = new CallSettlement(services, ctx, { ...record, hold, ticket });
  // The client leaving, or request_timeout_ms for the whole call, body included (SPEC §2: end to end).
  const abort = new CallAbort(ctx.signal, services.config.routing.requestTimeoutMs);
  let lastError: GatewayError | null = null;
  try {
    for (const { channel, embeddings } of candidates) {
      try {
        const result = await embeddings(raw, {
          channel,
          apiKey: channel.provider.apiKey,
          maxTokens: 0,
          signal: abort.signal,
          headersTimeoutMs: null,
          forwardHeaders: {},
          onAccepted: () => settlement.accept(profile, channel),
        });
        settlement.serve(profile, channel);
        const usage = { ...emptyUsage(), input: result.inputTokens > 0 ? result.inputTokens : inputEstimate };
        const summary = settlement.finish({ status: "ok", httpStatus: 200, errorCode: null, usage, billable: true, ttftMs: null });
        if (typeof result.body.model === "string") result.body.model = model;
        return {
          body: JSON.stringify(result.body),
          stream: false,
          requestId: ctx.requestId,
          billedModel: profile.id,
          dropped: [],
          summary,
          inputEstimate,
        };
      } catch (thrown) {
        const error = abort.reason ?? toGatewayError(thrown);
        settlement.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: error.code });
        lastError = error;
        if (!error.retryable || abort.reason) break;
      }
    }
  } finally {
    abort.dispose();
  }
  const failure = lastError ?? new GatewayError("no_healthy_channel", `No channel can serve embeddings for '${profile.id}'.`);
  // An upstream answered 2xx, then its answer could not be read: the input it accepted is billed.
  throw await settlement.failed(failure, () => inputEstimate);
}
