/**
 * The `anthropic` provider kind: the Messages API. `base_url` is the host (a trailing /v1 is
 * tolerated); the adapter appends `/v1/messages` and `/v1/messages/count_tokens`. The client's
 * `anthropic-version` and `anthropic-beta` headers are forwarded (Claude Code's beta fields need them).
 */

import type { ChatResult } from "../../canonical/result.ts";
import type { ProviderConfig } from "../../config/types.ts";
import { fetchUpstream, readUpstreamJson } from "../http.ts";
import { upstreamEventReader } from "../sse-events.ts";
import { anthropicEventDecoder } from "./decode-events.ts";
import type { ProviderAdapter, ProviderCallContext, Translated } from "../types.ts";
import { decodeAnthropicCountTokensResponse, encodeAnthropicCountTokensRequest } from "./count-tokens.ts";
import { decodeAnthropicUpstreamError } from "./decode-error.ts";
import { decodeAnthropicUpstreamResponse } from "./decode-response.ts";
import { encodeAnthropicUpstreamRequest } from "./encode-request.ts";

/** The API version sent when the client gave none (an OpenAI client on an Anthropic upstream). */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

export function createAnthropicAdapter(provider: ProviderConfig): ProviderAdapter {
  const host = provider.baseUrl.replace(/\/v1$/, "");
  const post = (path: string, body: Record<string, unknown>, ctx: ProviderCallContext) =>
    fetchUpstream({
      provider: provider.id,
      url: `${host}${path}`,
      headers: {
        ...provider.headers,
        "content-type": "application/json",
        "anthropic-version": ctx.forwardHeaders["anthropic-version"] ?? DEFAULT_ANTHROPIC_VERSION,
        ...(ctx.forwardHeaders["anthropic-beta"] ? { "anthropic-beta": ctx.forwardHeaders["anthropic-beta"] } : {}),
        ...(ctx.apiKey ? { "x-api-key": ctx.apiKey } : {}),
      },
      body: JSON.stringify(body),
      signal: ctx.signal,
      headersTimeoutMs: ctx.headersTimeoutMs,
      onAccepted: ctx.onAccepted,
      decodeError: decodeAnthropicUpstreamError,
    });

  const encode = (request: Parameters<ProviderAdapter["stream"]>[0], ctx: ProviderCallContext, stream: boolean) =>
    encodeAnthropicUpstreamRequest(request, { upstreamModel: ctx.channel.upstreamModel, maxTokens: ctx.maxTokens, stream });

  return {
    kind: "anthropic",
    async stream(request, ctx) {
      const { body, dropped } = encode(request, ctx, true);
      const response = await post("/v1/messages", body, ctx);
      return { value: upstreamEventReader(response.body ?? new ReadableStream(), anthropicEventDecoder({ learns: true })), dropped };
    },
    async complete(request, ctx): Promise<Translated<ChatResult>> {
      const { body, dropped } = encode(request, ctx, false);
      const response = await post("/v1/messages", body, ctx);
      return { value: decodeAnthropicUpstreamResponse(await readUpstreamJson(provider.id, response)), dropped };
    },
    passthrough: {
      dialect: "anthropic",
      send: (body, ctx) => post("/v1/messages", body, ctx),
      decodeResponse: decodeAnthropicUpstreamResponse,
      createEventDecoder: () => anthropicEventDecoder(),
    },
    async countTokens(request, ctx) {
      const response = await post("/v1/messages/count_tokens", encodeAnthropicCountTokensRequest(request, ctx.channel.upstreamModel), ctx);
      return decodeAnthropicCountTokensResponse(await readUpstreamJson(provider.id, response));
    },
  };
}
