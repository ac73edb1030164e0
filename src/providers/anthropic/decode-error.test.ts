/** Anthropic upstream HTTP errors → GatewayError: kind, status, retryability, Retry-After, upstream details. */

import { describe, expect, test } from "bun:test";
import type { ErrorKind } from "../../errors.ts";
import { decodeAnthropicUpstreamError, parseRetryAfterMs } from "./decode-error.ts";

function errorBody(type: string, message: string): string {
  return JSON.stringify({ type: "error", error: { type, message }, request_id: "req_011CSHoEeqs5C35K2UUqR7Fy" });
}

interface Row {
  name: string;
  status: number;
  body: string;
  headers?: Record<string, string>;
  kind: ErrorKind;
  httpStatus: number;
  retryable: boolean;
  retryAfterMs?: number;
  message?: string;
  code: string | null;
}

const ROWS: Row[] = [
  { name: "429 with retry-after", status: 429, body: errorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), headers: { "retry-after": "7" }, kind: "upstream_rate_limited", httpStatus: 429, retryable: true, retryAfterMs: 7000, code: "rate_limit_error" },
  { name: "429 without retry-after", status: 429, body: errorBody("rate_limit_error", "slow down"), kind: "upstream_rate_limited", httpStatus: 429, retryable: true, code: "rate_limit_error" },
  { name: "529 overloaded", status: 529, body: errorBody("overloaded_error", "Overloaded"), kind: "upstream_error", httpStatus: 502, retryable: true, code: "overloaded_error" },
  { name: "500 api_error", status: 500, body: errorBody("api_error", "Internal server error"), kind: "upstream_error", httpStatus: 502, retryable: true, code: "api_error" },
  { name: "503 with a non-JSON body", status: 503, body: "<html>Service Unavailable</html>", kind: "upstream_error", httpStatus: 502, retryable: true, code: null },
  { name: "401 bad provider key", status: 401, body: errorBody("authentication_error", "invalid x-api-key"), kind: "upstream_auth_failed", httpStatus: 502, retryable: true, code: "authentication_error" },
  { name: "403 permission", status: 403, body: errorBody("permission_error", "Your API key does not have permission"), kind: "upstream_auth_failed", httpStatus: 502, retryable: true, code: "permission_error" },
  { name: "408 timeout", status: 408, body: "", kind: "upstream_timeout", httpStatus: 504, retryable: true, code: null },
  { name: "504 timeout_error", status: 504, body: errorBody("timeout_error", "Request timed out"), kind: "upstream_timeout", httpStatus: 504, retryable: true, code: "timeout_error" },
  { name: "413 request_too_large", status: 413, body: errorBody("request_too_large", "Request exceeds the maximum allowed number of bytes."), kind: "body_too_large", httpStatus: 413, retryable: false, message: "Request exceeds the maximum allowed number of bytes.", code: "request_too_large" },
  { name: "400 invalid_request_error", status: 400, body: errorBody("invalid_request_error", "messages.1.content.0.type: Expected `thinking`"), kind: "invalid_request", httpStatus: 400, retryable: false, message: "messages.1.content.0.type: Expected `thinking`", code: "invalid_request_error" },
  { name: "404 not_found_error", status: 404, body: errorBody("not_found_error", "model: claude-nope"), kind: "invalid_request", httpStatus: 404, retryable: false, message: "model: claude-nope", code: "not_found_error" },
  { name: "400 with an unreadable body", status: 400, body: "bad", kind: "invalid_request", httpStatus: 400, retryable: false, message: "The upstream provider rejected the request (HTTP 400).", code: null },
];

describe("decodeAnthropicUpstreamError", () => {
  test.each(ROWS.map((row) => [row.name, row] as const))("%s", (_name, row) => {
    const error = decodeAnthropicUpstreamError("anthropic-main", row.status, row.body, new Headers(row.headers ?? {}));
    expect(error.kind).toBe(row.kind);
    expect(error.status).toBe(row.httpStatus);
    expect(error.retryable).toBe(row.retryable);
    expect(error.retryAfterMs).toBe(row.retryAfterMs);
    if (row.message !== undefined) expect(error.message).toBe(row.message);
    expect(error.upstream).toEqual({ provider: "anthropic-main", status: row.status, body: row.body, code: row.code });
  });
});

describe("parseRetryAfterMs", () => {
  const now = Date.parse("2025-06-01T12:00:00Z");
  test.each([
    [{ "retry-after": "2" }, 2000],
    [{ "retry-after": "0.5" }, 500],
    [{ "retry-after": "2", "retry-after-ms": "1500" }, 1500],
    [{ "retry-after": "Sun, 01 Jun 2025 12:00:30 GMT" }, 30_000],
    [{ "retry-after": "soon" }, undefined],
    [{ "retry-after": "-3" }, undefined],
    [{}, undefined],
  ])("%p → %p", (headers, expected) => {
    expect(parseRetryAfterMs(new Headers(headers), now)).toBe(expected);
  });
});
