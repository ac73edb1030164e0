/**
 * GatewayError → Anthropic's `{type:"error", error:{type, message, details:{error_code}}}` (SPEC §7).
 * The SDK picks its error class from the HTTP status; `error.type` follows Anthropic's own values.
 * @see https://docs.anthropic.com/en/api/errors
 */

import { KIND_STATUS, type ErrorKind, type GatewayError } from "../../errors.ts";
import type { AnthropicErrorType } from "./wire.ts";

const ERROR_TYPE = {
  invalid_request: "invalid_request_error",
  invalid_api_key: "authentication_error",
  insufficient_balance: "billing_error",
  max_price_exceeded: "permission_error",
  quota_exceeded: "permission_error",
  model_not_found: "not_found_error",
  not_found: "not_found_error",
  // Management-only; Anthropic's public error types have no conflict (SPEC §7 lists none).
  conflict: "invalid_request_error",
  body_too_large: "request_too_large",
  rate_limited: "rate_limit_error",
  upstream_rate_limited: "rate_limit_error",
  upstream_error: "api_error",
  upstream_auth_failed: "api_error",
  no_healthy_channel: "overloaded_error",
  upstream_timeout: "timeout_error",
  byok_key_missing: "invalid_request_error",
  byok_key_rejected: "invalid_request_error",
  client_disconnected: "api_error",
  internal: "api_error",
} as const satisfies Record<ErrorKind, AnthropicErrorType>;

/** For a status that differs from the kind's own (a forwarded upstream 4xx keeps its status). */
const STATUS_TYPE: Record<number, AnthropicErrorType> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  408: "timeout_error",
  413: "request_too_large",
  429: "rate_limit_error",
  503: "overloaded_error",
  504: "timeout_error",
  529: "overloaded_error",
};

function isErrorKind(kind: string): kind is ErrorKind {
  return Object.hasOwn(ERROR_TYPE, kind);
}

/** Kinds arrive as strings from mid-stream error events; an unknown one is a server-side failure. */
export function anthropicErrorType(kind: string): AnthropicErrorType {
  return isErrorKind(kind) ? ERROR_TYPE[kind] : "api_error";
}

function errorTypeFor(error: GatewayError): AnthropicErrorType {
  if (error.status !== KIND_STATUS[error.kind]) return STATUS_TYPE[error.status] ?? anthropicErrorType(error.kind);
  return anthropicErrorType(error.kind);
}

export function encodeAnthropicErrorBody(error: GatewayError): string {
  return JSON.stringify({
    type: "error",
    error: { type: errorTypeFor(error), message: error.message, details: { error_code: error.code } },
  });
}

/** The body of a mid-stream `event: error` (the kind is the stable code). */
export function encodeAnthropicStreamError(kind: string, message: string): string {
  return JSON.stringify({ type: "error", error: { type: anthropicErrorType(kind), message, details: { error_code: kind } } });
}
