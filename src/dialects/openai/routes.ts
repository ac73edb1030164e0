/** OpenAI dialect routes: POST /v1/chat/completions and /v1/embeddings. Errors render in OpenAI's shape. */

import { Elysia } from "elysia";
import type { Deps } from "../../deps.ts";
import { GatewayError } from "../../errors.ts";
import type { DialectCodec } from "../../gateway/codec.ts";
import { runEmbeddings } from "../../gateway/embeddings.ts";
import { runChat } from "../../gateway/pipeline.ts";
import { assertValid } from "../../gateway/validate.ts";
import { acceptInference, toResponse } from "../../http/inference.ts";
import { renderError } from "../../http/render.ts";
import { decodeOpenAIRequest } from "./decode-request.ts";
import { encodeOpenAIErrorBody } from "./encode-error.ts";
import { encodeOpenAIResponse } from "./encode-response.ts";
import { createOpenAIStreamEncoder } from "./encode-stream.ts";
import { openAIPassthrough } from "./passthrough.ts";
import { openAIChatRequestCheck, openAIEmbeddingsRequestCheck } from "./wire.ts";

const openAICodec: DialectCodec = {
  dialect: "openai",
  encodeResponse: encodeOpenAIResponse,
  createStreamEncoder: createOpenAIStreamEncoder,
  passthrough: openAIPassthrough,
};

export function renderOpenAIError(deps: Deps, code: string | number, thrown: unknown, request: Request): Response {
  return renderError(deps, code, thrown, request, encodeOpenAIErrorBody);
}

export function openaiRoutes(deps: Deps) {
  return new Elysia({ name: "tollgate.openai" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderOpenAIError(deps, code, error, request))
    .post("/v1/chat/completions", async ({ request }) => {
      const { ctx, raw } = await acceptInference(deps, request, "openai");
      assertValid(openAIChatRequestCheck, raw);
      return toResponse(await runChat(deps, ctx, { ...decodeOpenAIRequest(raw, raw), raw }, openAICodec), ctx, deps.metrics, "chat_completions");
    })
    .post("/v1/embeddings", async ({ request }) => {
      const { ctx, raw } = await acceptInference(deps, request, "openai");
      assertValid(openAIEmbeddingsRequestCheck, raw);
      return toResponse(await runEmbeddings(deps, ctx, raw), ctx, deps.metrics, "embeddings");
    });
}
