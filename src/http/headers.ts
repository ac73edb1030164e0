/** Every header name Tollgate reads or writes, in one place. */

export const H = {
  authorization: "authorization",
  apiKey: "x-api-key",
  anthropicVersion: "anthropic-version",
  anthropicBeta: "anthropic-beta",
  contentLength: "content-length",
  contentType: "content-type",

  requestId: "x-tollgate-request-id",
  requestIdSdk: "x-request-id",
  requestIdAnthropic: "request-id",
  costMicrocents: "x-tollgate-cost-microcents",
  tokensInput: "x-tollgate-tokens-input",
  tokensOutput: "x-tollgate-tokens-output",
  tokensCacheRead: "x-tollgate-tokens-cache-read",
  tokensCacheCreation: "x-tollgate-tokens-cache-creation",
  tokensReasoning: "x-tollgate-tokens-reasoning",
  billedModel: "x-tollgate-billed-model",
  droppedFields: "x-tollgate-dropped-fields",

  shouldRetry: "x-should-retry",
  retryAfter: "retry-after",
  retryAfterMs: "retry-after-ms",

  route: "x-tollgate-route",
  maxPrice: "x-tollgate-max-price-microcents",
  fallbackModels: "x-tollgate-fallback-models",
  translate: "x-tollgate-translate",
  usageEvent: "x-tollgate-usage-event",
  byok: "x-tollgate-byok",
} as const;

/** The presented key: `Authorization: Bearer …` (current SDKs) or `x-api-key` (Claude Code, older SDKs). */
export function readPresentedKey(headers: Headers): string | null {
  const authorization = headers.get(H.authorization);
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  const apiKey = headers.get(H.apiKey);
  return apiKey ? apiKey.trim() : null;
}

/** `1`/`true`/`yes` → true, `0`/`false`/`no` → false, absent or other → null. */
export function readFlag(headers: Headers, name: string): boolean | null {
  const value = headers.get(name)?.trim().toLowerCase();
  if (value === "1" || value === "true" || value === "yes") return true;
  if (value === "0" || value === "false" || value === "no") return false;
  return null;
}
