/**
 * A non-2xx answer of an Anthropic upstream → GatewayError: transient failures (429, 5xx, 529,
 * timeouts, a refused provider key) are retryable on the next channel; request errors are not.
 * @see https://docs.anthropic.com/en/api/errors
 */

import { Type } from "@sinclair/typebox";
import { GatewayError, type UpstreamErrorInfo } from "../../errors.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

const ErrorBodyCheck = compileOnFirstUse(
  Type.Object({
    error: Type.Object({ type: Type.Optional(Type.String()), message: Type.Optional(Type.String()) }),
  }),
);

interface AnthropicErrorDetail {
  type: string | null;
  message: string | null;
}

function parseErrorBody(bodyText: string): AnthropicErrorDetail {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { type: null, message: null };
  }
  if (!ErrorBodyCheck.Check(body)) return { type: null, message: null };
  return { type: body.error.type ?? null, message: body.error.message || null };
}

/** `retry-after` in seconds (what Anthropic sends) or as an HTTP date; `retry-after-ms` wins if present. */
export function parseRetryAfterMs(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export function decodeAnthropicUpstreamError(provider: string, status: number, bodyText: string, headers: Headers): GatewayError {
  const detail = parseErrorBody(bodyText);
  const upstream: UpstreamErrorInfo = { provider, status, body: bodyText, code: detail.type };
  if (status === 429) {
    const retryAfterMs = parseRetryAfterMs(headers);
    return new GatewayError("upstream_rate_limited", "The upstream provider is rate-limiting requests.", {
      retryable: true,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      upstream,
    });
  }
  if (status === 401 || status === 403) {
    return new GatewayError("upstream_auth_failed", "The upstream provider refused the gateway's credentials.", { retryable: true, upstream });
  }
  if (status === 408 || status === 504) {
    return new GatewayError("upstream_timeout", "The upstream provider timed out.", { retryable: true, upstream });
  }
  if (status === 413) {
    return new GatewayError("body_too_large", detail.message ?? "The request is too large for the upstream provider.", { status: 413, upstream });
  }
  if (status >= 400 && status < 500) {
    return new GatewayError("invalid_request", detail.message ?? `The upstream provider rejected the request (HTTP ${status}).`, {
      status,
      upstream,
    });
  }
  // 5xx, Anthropic's 529 "overloaded", and anything else unexpected: another channel may do better.
  const message = status === 529 ? "The upstream provider is overloaded." : `The upstream provider failed (HTTP ${status}).`;
  return new GatewayError("upstream_error", message, { retryable: true, upstream });
}
