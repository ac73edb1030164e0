/** OpenAI dialect routes: POST /v1/chat/completions. Errors render in OpenAI's shape. */

import { Elysia } from "elysia";
import type { Deps } from "../../deps.ts";
import { GatewayError } from "../../errors.ts";
import type { RequestContext } from "../../gateway/context.ts";
import { runChat, type DialectCodec, type InferenceOutcome } from "../../gateway/pipeline.ts";
import { assertValid, parseJsonBody } from "../../gateway/validate.ts";
import { authenticate } from "../../http/auth.ts";
import { readBodyText } from "../../http/body.ts";
import { errorResponse, gatewayErrorFromElysia, logFailure } from "../../http/render.ts";
import { requestIdFor } from "../../http/request-id.ts";
import { decodeOpenAIRequest } from "./decode-request.ts";
import { encodeOpenAIErrorBody } from "./encode-error.ts";
import { encodeOpenAIResponse } from "./encode-response.ts";
import { createOpenAIStreamEncoder } from "./encode-stream.ts";
import { openAIChatRequestCheck } from "./wire.ts";

const openAICodec: DialectCodec = { encodeResponse: encodeOpenAIResponse, createStreamEncoder: createOpenAIStreamEncoder };

export function toResponse(outcome: InferenceOutcome): Response {
  return new Response(outcome.body, { status: outcome.status, headers: outcome.headers });
}

export function renderOpenAIError(deps: Deps, code: string | number, thrown: unknown, request: Request): Response {
  const error = gatewayErrorFromElysia(code, thrown);
  const requestId = requestIdFor(request);
  logFailure(deps.log, error, requestId, new URL(request.url).pathname);
  return errorResponse(error, requestId, encodeOpenAIErrorBody);
}

export function openaiRoutes(deps: Deps) {
  return new Elysia({ name: "tollgate.openai" })
    .error({ GatewayError })
    .onError({ as: "scoped" }, ({ code, error, request }) => renderOpenAIError(deps, code, error, request))
    .post("/v1/chat/completions", async ({ request }) => {
      const startedAtPerf = performance.now();
      const requestId = requestIdFor(request);
      const principal = await authenticate(deps.keyCache, request.headers, "live");
      const raw = parseJsonBody(await readBodyText(request, deps.config.server.maxBodyBytes));
      assertValid(openAIChatRequestCheck, raw);
      const { request: chat } = decodeOpenAIRequest(raw, raw);
      const ctx: RequestContext = {
        requestId,
        startedAtMs: deps.clock.now(),
        startedAtPerf,
        dialect: "openai",
        principal,
        signal: request.signal,
        headers: request.headers,
      };
      return toResponse(await runChat(deps, ctx, chat, openAICodec));
    });
}
