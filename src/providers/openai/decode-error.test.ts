import { describe, expect, test } from "bun:test";
import type { ErrorKind } from "../../errors.ts";
import { decodeOpenAIUpstreamError, parseRetryAfterMs } from "./decode-error.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const openAIError = (message: string, type: string, code: string | null = null) => JSON.stringify({ error: { message, type, param: null, code } });

interface Case {
  name: string;
  status: number;
  body?: string;
  headers?: Record<string, string>;
  kind: ErrorKind;
  httpStatus: number;
  retryable: boolean;
  retryAfterMs?: number;
  message: string;
  code?: string | null;
}

const CASES: Case[] = [
  {
    name: "429 with retry-after-ms",
    status: 429,
    body: openAIError("Rate limit reached for gpt-4.1 in organization org-SECRET on tokens per min.", "tokens", "rate_limit_exceeded"),
    headers: { "retry-after-ms": "1500", "retry-after": "9" },
    kind: "upstream_rate_limited",
    httpStatus: 429,
    retryable: true,
    retryAfterMs: 1500,
    message: "The upstream provider openai-main is rate-limiting calls.",
    code: "rate_limit_exceeded",
  },
  { name: "429 with retry-after seconds", status: 429, headers: { "retry-after": "2" }, kind: "upstream_rate_limited", httpStatus: 429, retryable: true, retryAfterMs: 2000, message: "The upstream provider openai-main is rate-limiting calls." },
  { name: "429 with fractional seconds", status: 429, headers: { "retry-after": "0.25" }, kind: "upstream_rate_limited", httpStatus: 429, retryable: true, retryAfterMs: 250, message: "The upstream provider openai-main is rate-limiting calls." },
  {
    name: "429 with an HTTP date",
    status: 429,
    headers: { "retry-after": new Date(NOW + 3000).toUTCString() },
    kind: "upstream_rate_limited",
    httpStatus: 429,
    retryable: true,
    retryAfterMs: 3000,
    message: "The upstream provider openai-main is rate-limiting calls.",
  },
  { name: "429 with a date in the past", status: 429, headers: { "retry-after": new Date(NOW - 5000).toUTCString() }, kind: "upstream_rate_limited", httpStatus: 429, retryable: true, retryAfterMs: 0, message: "The upstream provider openai-main is rate-limiting calls." },
  { name: "429 without headers", status: 429, kind: "upstream_rate_limited", httpStatus: 429, retryable: true, message: "The upstream provider openai-main is rate-limiting calls." },
  { name: "429 with a garbage header", status: 429, headers: { "retry-after": "soon" }, kind: "upstream_rate_limited", httpStatus: 429, retryable: true, message: "The upstream provider openai-main is rate-limiting calls." },
  { name: "500", status: 500, body: openAIError("The server had an error while processing your request.", "server_error"), kind: "upstream_error", httpStatus: 502, retryable: true, message: "The upstream provider openai-main failed (HTTP 500).", code: null },
  { name: "503 with retry-after", status: 503, headers: { "retry-after": "1" }, kind: "upstream_error", httpStatus: 502, retryable: true, retryAfterMs: 1000, message: "The upstream provider openai-main failed (HTTP 503)." },
  { name: "529 overloaded", status: 529, body: "overloaded", kind: "upstream_error", httpStatus: 502, retryable: true, message: "The upstream provider openai-main failed (HTTP 529).", code: null },
  { name: "401", status: 401, body: openAIError("Incorrect API key provided: sk-abc***xyz.", "invalid_request_error", "invalid_api_key"), kind: "upstream_auth_failed", httpStatus: 502, retryable: true, message: "The upstream provider openai-main refused the gateway's credentials.", code: "invalid_api_key" },
  { name: "403", status: 403, kind: "upstream_auth_failed", httpStatus: 502, retryable: true, message: "The upstream provider openai-main refused the gateway's credentials." },
  { name: "408", status: 408, kind: "upstream_timeout", httpStatus: 504, retryable: true, message: "The upstream provider openai-main timed out." },
  { name: "504", status: 504, kind: "upstream_timeout", httpStatus: 504, retryable: true, message: "The upstream provider openai-main timed out." },
  {
    name: "400 keeps the upstream's status, message and code",
    status: 400,
    body: openAIError("This model's maximum context length is 128000 tokens.", "invalid_request_error", "context_length_exceeded"),
    kind: "invalid_request",
    httpStatus: 400,
    retryable: false,
    message: "This model's maximum context length is 128000 tokens.",
    code: "context_length_exceeded",
  },
  { name: "404 with a type but no code", status: 404, body: openAIError("The model `gpt-9` does not exist", "invalid_request_error"), kind: "invalid_request", httpStatus: 404, retryable: false, message: "The model `gpt-9` does not exist", code: null },
  {
    name: "400 from Gemini (an array with status)",
    status: 400,
    body: JSON.stringify([{ error: { code: 400, message: "Invalid JSON payload received.", status: "INVALID_ARGUMENT" } }]),
    kind: "invalid_request",
    httpStatus: 400,
    retryable: false,
    message: "Invalid JSON payload received.",
    code: "INVALID_ARGUMENT",
  },
  { name: "400 from Ollama (error as text)", status: 400, body: JSON.stringify({ error: "model \"llama9\" not found" }), kind: "invalid_request", httpStatus: 400, retryable: false, message: "model \"llama9\" not found", code: null },
  { name: "422 with a non-JSON body", status: 422, body: "<html>Unprocessable</html>", kind: "invalid_request", httpStatus: 422, retryable: false, message: "The upstream provider rejected the request (HTTP 422).", code: null },
  { name: "413 with an empty message", status: 413, body: openAIError("", "invalid_request_error"), kind: "invalid_request", httpStatus: 413, retryable: false, message: "The upstream provider rejected the request (HTTP 413).", code: null },
];

describe("decodeOpenAIUpstreamError", () => {
  test.each(CASES.map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    const body = entry.body ?? "";
    const error = decodeOpenAIUpstreamError("openai-main", entry.status, body, new Headers(entry.headers ?? {}), NOW);
    expect(error.kind).toBe(entry.kind);
    expect(error.status).toBe(entry.httpStatus);
    expect(error.retryable).toBe(entry.retryable);
    expect(error.retryAfterMs).toBe(entry.retryAfterMs);
    expect(error.message).toBe(entry.message);
    expect(error.upstream).toEqual({ provider: "openai-main", status: entry.status, body, code: entry.code ?? null });
  });

  test("the upstream body never becomes the message", () => {
    const body = JSON.stringify({ error: { message: "secret detail org-123", type: "server_error" }, debug: "stack trace" });
    for (const status of [401, 429, 500, 503]) {
      const error = decodeOpenAIUpstreamError("p", status, body, new Headers(), NOW);
      expect(error.message).not.toContain("secret");
      expect(error.upstream?.body).toBe(body);
    }
  });
});

describe("parseRetryAfterMs", () => {
  test.each([
    [{ "retry-after-ms": "20" }, 20],
    [{ "retry-after-ms": "12.4" }, 13],
    [{ "retry-after-ms": "-1", "retry-after": "1" }, 1000],
    [{ "retry-after": "-3" }, undefined],
    [{ "retry-after": "" }, undefined],
    [{}, undefined],
  ])("%j → %p", (headers, expected) => {
    expect(parseRetryAfterMs(new Headers(headers), NOW)).toBe(expected);
  });
});
