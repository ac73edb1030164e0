/**
 * An OpenAI-compatible upstream's non-2xx answer → GatewayError: which failures the next channel may
 * retry (429, 5xx, timeouts, a refused provider key) and which are the caller's (other 4xx, SPEC §7).
 * @see https://platform.openai.com/docs/guides/error-codes
 */

import { Type } from "@sinclair/typebox";
import { GatewayError, type UpstreamErrorInfo } from "../../errors.ts";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

/** `{error: {message, type, code}}` (OpenAI, DeepSeek, vLLM); Gemini wraps it in an array and adds `status`. */
const errorObjectCheck = compileOnFirstUse(
  Type.Object({
    error: Type.Object({
      message: Type.Optional(Type.Unknown()),
      code: Type.Optional(Type.Unknown()),
      type: Type.Optional(Type.Unknown()),
      status: Type.Optional(Type.Unknown()),
    }),
  }),
);
/** Some servers (older vLLM, Ollama) send `{error: "text"}` or `{message: "text"}`. */
const errorTextCheck = compileOnFirstUse(Type.Object({ error: Type.String() }));
const messageTextCheck = compileOnFirstUse(Type.Object({ message: Type.String() }));

/** Statuses that mean the upstream (or a proxy in front of it) gave up waiting. */
const TIMEOUT_STATUSES = new Set([408, 504, 524]);

interface UpstreamErrorFields {
  message: string | null;
  code: string | null;
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

function readErrorFields(bodyText: string): UpstreamErrorFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return { message: null, code: null };
  }
  const body: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
  if (errorObjectCheck.Check(body)) {
    const { message, code, status } = body.error;
    // `type` is a category (invalid_request_error), not a code: a client is told `upstream_error` instead (SPEC §7).
    return { message: nonEmptyString(message), code: nonEmptyString(code) ?? nonEmptyString(status) };
  }
  if (errorTextCheck.Check(body)) return { message: nonEmptyString(body.error), code: null };
  if (messageTextCheck.Check(body)) return { message: nonEmptyString(body.message), code: null };
  return { message: null, code: null };
}

/**
 * How long the upstream asked us to wait: `retry-after-ms` (OpenAI's, milliseconds) first, then
 * `retry-after` in seconds or as an HTTP date — the order the openai SDK reads them.
 */
export function parseRetryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const millis = headers.get("retry-after-ms");
  if (millis !== null && millis.trim() !== "") {
    const value = Number(millis);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const retryAfter = headers.get("retry-after");
  if (retryAfter === null || retryAfter.trim() === "") return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  const at = Date.parse(retryAfter);
  return Number.isNaN(at) ? undefined : Math.max(at - nowMs, 0);
}

/**
 * Classifies an upstream error answer. Only a caller's 4xx carries the upstream's own message (it
 * names the caller's mistake); the others get Tollgate's words, since a rate-limit or auth message
 * can name the operator's account. The body itself is kept in `upstream` for logs.
 */
export function decodeOpenAIUpstreamError(provider: string, status: number, bodyText: string, headers: Headers, nowMs: number = Date.now()): GatewayError {
  const fields = readErrorFields(bodyText);
  const upstream: UpstreamErrorInfo = { provider, status, body: bodyText, code: fields.code };
  const retryAfterMs = parseRetryAfterMs(headers, nowMs);
  const timing = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 429) {
    return new GatewayError("upstream_rate_limited", `The upstream provider ${provider} is rate-limiting calls.`, { retryable: true, upstream, ...timing });
  }
  if (status === 401 || status === 403) {
    return new GatewayError("upstream_auth_failed", `The upstream provider ${provider} refused the gateway's credentials.`, { retryable: true, upstream });
  }
  if (TIMEOUT_STATUSES.has(status)) {
    return new GatewayError("upstream_timeout", `The upstream provider ${provider} timed out.`, { retryable: true, upstream, ...timing });
  }
  if (status >= 500) {
    return new GatewayError("upstream_error", `The upstream provider ${provider} failed (HTTP ${status}).`, { retryable: true, upstream, ...timing });
  }
  if (status >= 400) {
    const message = fields.message ?? `The upstream provider rejected the request (HTTP ${status}).`;
    return new GatewayError("invalid_request", message, { status, retryable: false, upstream });
  }
  // Not an error status at all: nothing suggests another channel would do better.
  return new GatewayError("upstream_error", `The upstream provider ${provider} answered with unexpected HTTP ${status}.`, { retryable: false, upstream });
}
