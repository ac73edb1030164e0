/** GatewayError → Anthropic error body: the SPEC §7 type per kind, and the SDK's reading of it. */

import { describe, expect, test } from "bun:test";
import Anthropic, { APIError, AuthenticationError, ContentTooLargeError, NotFoundError, PaymentRequiredError } from "@anthropic-ai/sdk";
import { GatewayError, KIND_STATUS, type ErrorKind } from "../../errors.ts";
import { anthropicErrorType, encodeAnthropicErrorBody } from "./encode-error.ts";

const EXPECTED: Record<ErrorKind, string> = {
  invalid_request: "invalid_request_error",
  invalid_api_key: "authentication_error",
  insufficient_balance: "billing_error",
  max_price_exceeded: "permission_error",
  quota_exceeded: "permission_error",
  model_not_found: "not_found_error",
  not_found: "not_found_error",
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
};

describe("encodeAnthropicErrorBody", () => {
  test.each(Object.keys(KIND_STATUS) as ErrorKind[])("%s", (kind) => {
    const body = JSON.parse(encodeAnthropicErrorBody(new GatewayError(kind, `failed: ${kind}`)));
    expect(body).toEqual({ type: "error", error: { type: EXPECTED[kind], message: `failed: ${kind}`, details: { error_code: kind } } });
    expect(anthropicErrorType(kind)).toBe(EXPECTED[kind] as ReturnType<typeof anthropicErrorType>);
  });

  test("a forwarded upstream error keeps the upstream's code and takes its type from the status", () => {
    const error = new GatewayError("invalid_request", "model: not found", {
      status: 404,
      upstream: { provider: "openai", status: 404, body: "{}", code: "model_not_found" },
    });
    expect(JSON.parse(encodeAnthropicErrorBody(error)).error).toEqual({
      type: "not_found_error",
      message: "model: not found",
      details: { error_code: "model_not_found" },
    });
  });

  test("an unknown kind from a stream error event is an api_error", () => {
    expect(anthropicErrorType("something_new")).toBe("api_error");
    expect(anthropicErrorType("toString")).toBe("api_error");
  });

  test.each([
    ["invalid_api_key", AuthenticationError],
    ["insufficient_balance", PaymentRequiredError],
    ["model_not_found", NotFoundError],
    ["body_too_large", ContentTooLargeError],
  ] as const)("the SDK raises %s with its type and error_code", async (kind, errorClass) => {
    const error = new GatewayError(kind, "nope");
    const client = new Anthropic({
      apiKey: "test-key",
      baseURL: "http://localhost",
      maxRetries: 0,
      fetch: async () => new Response(encodeAnthropicErrorBody(error), { status: error.status, headers: { "content-type": "application/json" } }),
    });
    const caught = await client.messages
      .create({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "hi" }] })
      .catch((thrown: unknown) => thrown);
    expect(caught).toBeInstanceOf(errorClass);
    expect((caught as APIError).errorCode).toBe(kind);
    expect((caught as APIError).apiMessage).toBe("nope");
  });
});
