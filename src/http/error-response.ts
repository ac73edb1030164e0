/**
 * The headers every error response carries (SPEC §6, §7): request id (three names the SDKs read), cost
 * and token headers (zeros, or what a call an upstream accepted was billed), retry hints. The body
 * comes from the client's dialect.
 */

import type { BilledFigures, GatewayError } from "../errors.ts";
import { H } from "./headers.ts";
import { requestIdHeaders } from "./request-id.ts";

/** The cost and token headers of an answer that served nothing: they read 0 (SPEC §6, §7). */
export const ZERO_FIGURE_HEADERS: Readonly<Record<string, string>> = {
  [H.costMicrocents]: "0",
  [H.tokensInput]: "0",
  [H.tokensOutput]: "0",
  [H.tokensCacheRead]: "0",
  [H.tokensCacheCreation]: "0",
  [H.tokensReasoning]: "0",
};

/** A call's billed figures as its cost and token headers, and the model billed. */
export function figureHeaders(figures: BilledFigures): Record<string, string> {
  return {
    [H.costMicrocents]: String(figures.cost_microcents),
    [H.tokensInput]: String(figures.usage.input_tokens),
    [H.tokensOutput]: String(figures.usage.output_tokens),
    [H.tokensCacheRead]: String(figures.usage.cache_read_tokens),
    [H.tokensCacheCreation]: String(figures.usage.cache_creation_tokens),
    [H.tokensReasoning]: String(figures.usage.reasoning_tokens),
    [H.billedModel]: figures.model,
  };
}

export function errorHeaders(error: GatewayError, requestId: string, extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...requestIdHeaders(requestId),
    ...(error.billed === undefined ? ZERO_FIGURE_HEADERS : figureHeaders(error.billed)),
    ...extra,
  };
  const shouldRetry = error.shouldRetry;
  if (shouldRetry !== undefined) headers[H.shouldRetry] = String(shouldRetry);
  if (error.retryAfterMs !== undefined) {
    headers[H.retryAfter] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
    headers[H.retryAfterMs] = String(Math.max(0, Math.round(error.retryAfterMs)));
  }
  return headers;
}
