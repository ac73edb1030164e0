/**
 * The `openai` provider kind: OpenAI and every compatible upstream (DeepSeek, Gemini's OpenAI
 * endpoint, Voyage embeddings, vLLM, Ollama). `base_url` includes the version prefix; the adapter
 * appends `/chat/completions` and `/embeddings`.
 */

import type { ChatResult } from "../../canonical/result.ts";
import type { ProviderConfig } from "../../config/types.ts";
import { fetchUpstream, readUpstreamJson } from "../http.ts";
import { upstreamEventReader } from "../sse-events.ts";
import type { ProviderAdapter, ProviderCallContext, Translated } from "../types.ts";
import { decodeOpenAIUpstreamError } from "./decode-error.ts";
import { decodeOpenAIUpstreamResponse } from "./decode-response.ts";
import { openAIEventDecoder } from "./decode-events.ts";
import { decodeOpenAIEmbeddingsUsage, encodeOpenAIEmbeddingsRequest } from "./embeddings.ts";
import { encodeOpenAIUpstreamRequest } from "./encode-request.ts";

export function createOpenAIAdapter(provider: ProviderConfig): ProviderAdapter {
  const post = (path: string, body: Record<string, unknown>, ctx: ProviderCallContext) =>
    fetchUpstream({
      provider: provider.id,
      url: `${provider.baseUrl}${path}`,
      headers: {
        ...provider.headers,
        "content-type": "application/json",
        ...(ctx.apiKey ? { authorization: `Bearer ${ctx.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal: ctx.signal,
      headersTimeoutMs: ctx.headersTimeoutMs,
      onAccepted: ctx.onAccepted,
      decodeError: decodeOpenAIUpstreamError,
    });

  const encode = (request: Parameters<ProviderAdapter["stream"]>[0], ctx: ProviderCallContext, stream: boolean) =>
    encodeOpenAIUpstreamRequest(request, {
      upstreamModel: ctx.channel.upstreamModel,
      maxTokens: ctx.maxTokens,
      maxTokensField: provider.maxTokensField,
      stream,
    });

  return {
    kind: "openai",
    async stream(request, ctx) {
      const { body, dropped } = encode(request, ctx, true);
      const response = await post("/chat/completions", body, ctx);
      return { value: upstreamEventReader(response.body ?? new ReadableStream(), openAIEventDecoder()), dropped };
    },
    async complete(request, ctx): Promise<Translated<ChatResult>> {
      const { body, dropped } = encode(request, ctx, false);
      const response = await post("/chat/completions", body, ctx);
      return { value: decodeOpenAIUpstreamResponse(await readUpstreamJson(provider.id, response)), dropped };
    },
    passthrough: {
      dialect: "openai",
      send: (body, ctx) => post("/chat/completions", body, ctx),
      decodeResponse: decodeOpenAIUpstreamResponse,
      createEventDecoder: openAIEventDecoder,
    },
    async embeddings(raw, ctx) {
      const response = await post("/embeddings", encodeOpenAIEmbeddingsRequest(raw, ctx.channel.upstreamModel), ctx);
      const body = (await readUpstreamJson(provider.id, response)) as Record<string, unknown>;
      return { body, inputTokens: decodeOpenAIEmbeddingsUsage(body) };
    },
  };
}
