/** Anthropic dialect routes: POST /v1/messages and /v1/messages/count_tokens. Errors in Anthropic's shape. */

import { Elysia } from "elysia";
import type { Deps } from "../../deps.ts";
import { GatewayError } from "../../errors.ts";
import type { DialectCodec } from "../../gateway/codec.ts";
import { countInputTokens } from "../../gateway/count-tokens.ts";
import { runChat } from "../../gateway/pipeline.ts";
import { assertValid } from "../../gateway/validate.ts";
import { acceptInference, toResponse } from "../../http/inference.ts";
import { answerHeaders, renderError } from "../../http/render.ts";
import { decodeAnthropicRequest } from "./decode-request.ts";
import { encodeAnthropicErrorBody } from "./encode-error.ts";
import { encodeAnthropicResponse } from "./encode-response.ts";
import { createAnthropicStreamEncoder } from "./encode-stream.ts";
import { anthropicPassthrough } from "./passthrough.ts";
import { anthropicCountTokensRequestCheck, anthropicMessagesRequestCheck } from "./wire.ts";

const anthropicCodec: DialectCodec = {
  dialect: "anthropic",
  encodeResponse: encodeAnthropicResponse,
  createStreamEncoder: createAnthropicStreamEncoder,
  passthrough: anthropicPassthrough,
};

export function renderAnthropicError(deps: Deps, code: string | number, thrown: unknown, request: Request): Response {
  return renderError(deps, code, thrown, request, encodeAnthropicErrorBody);
}

export function anthropicRoutes(deps: Deps) {
  return new Elysia({ name: "tollgate.anthropic" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderAnthropicError(deps, code, error, request))
    .post("/v1/messages", async ({ request }) => {
      const { ctx, raw } = await acceptInference(deps, request, "anthropic");
      assertValid(anthropicMessagesRequestCheck, raw);
      return toResponse(await runChat(deps, ctx, { ...decodeAnthropicRequest(raw, raw), raw }, anthropicCodec), ctx, deps.metrics, "messages");
    })
    .post("/v1/messages/count_tokens", async ({ request }) => {
      const { ctx, raw } = await acceptInference(deps, request, "anthropic", "any");
      assertValid(anthropicCountTokensRequestCheck, raw);
      const { request: chat } = decodeAnthropicRequest(raw, raw);
      const inputTokens = await countInputTokens(deps, ctx, chat);
      // Free and served by no model: zero figures, like every answer that draws nothing.
      return Response.json({ input_tokens: inputTokens }, { headers: answerHeaders(request) });
    });
}
