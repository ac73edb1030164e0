/**
 * GatewayError → OpenAI's `{error:{message,type,param,code}}` with the SPEC §7 status. The SDK picks
 * its error class from the status; `type` follows OpenAI's own values where one fits.
 */

import type { ErrorKind, GatewayError } from "../../errors.ts";

const ERROR_TYPE: Partial<Record<ErrorKind, string>> = {
  insufficient_balance: "insufficient_quota",
  quota_exceeded: "insufficient_quota",
  max_price_exceeded: "permission_error",
  rate_limited: "rate_limit_error",
  upstream_rate_limited: "rate_limit_error",
  upstream_error: "server_error",
  upstream_auth_failed: "server_error",
  no_healthy_channel: "server_error",
  upstream_timeout: "server_error",
  internal: "server_error",
  client_disconnected: "server_error",
};

export function openAIErrorType(kind: string): string {
  return ERROR_TYPE[kind as ErrorKind] ?? "invalid_request_error";
}

export function encodeOpenAIErrorBody(error: GatewayError): string {
  return JSON.stringify({
    error: {
      message: error.message,
      type: openAIErrorType(error.kind),
      param: error.param ?? null,
      code: error.code,
    },
  });
}
