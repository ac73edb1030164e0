/**
 * Anthropic token counting: the request is the messages encoding without max_tokens, stream and
 * sampling parameters; the answer is `{input_tokens}`.
 * @see https://docs.anthropic.com/en/api/messages-count-tokens
 */

import { Type } from "@sinclair/typebox";
import type { ChatRequest } from "../../canonical/request.ts";
import { GatewayError } from "../../errors.ts";
import { encodeAnthropicConversation } from "./encode-request.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

const CountTokensCheck = compileOnFirstUse(Type.Object({ input_tokens: Type.Integer({ minimum: 0 }) }));

/** The body only: counting is free and answers no dropped-fields header, so drops are not reported. */
export function encodeAnthropicCountTokensRequest(request: ChatRequest, upstreamModel: string): Record<string, unknown> {
  return { model: upstreamModel, ...encodeAnthropicConversation(request, null, new Set<string>()) };
}

export function decodeAnthropicCountTokensResponse(body: unknown): number {
  if (!CountTokensCheck.Check(body)) {
    throw new GatewayError("upstream_error", "The upstream returned a malformed token count.");
  }
  return body.input_tokens;
}
