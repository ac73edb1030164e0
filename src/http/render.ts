/**
 * Render stage helpers: turns Elysia's own error codes into GatewayErrors, logs each failure once
 * (kind and request id; an internal cause with its stack, never in the response), and builds the
 * error Response from a dialect's body encoder.
 */

import { GatewayError, toGatewayError } from "../errors.ts";
import type { Logger } from "../lib/log.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { errorHeaders, ZERO_FIGURE_HEADERS } from "./error-response.ts";
import { rateLimitHeadersFor } from "./rate-limit-headers.ts";
import { requestIdFor, requestIdHeaders } from "./request-id.ts";

export function gatewayErrorFromElysia(code: string | number, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (code === "NOT_FOUND") return new GatewayError("not_found", "No such endpoint.");
  if (code === "PARSE") return new GatewayError("invalid_request", "The request body could not be parsed.");
  if (code === "VALIDATION") {
    const message = error instanceof Error ? error.message : "Invalid request.";
    return new GatewayError("invalid_request", safeValidationMessage(message));
  }
  return toGatewayError(error);
}

/** Elysia's validation message is a JSON document; keep its one human sentence. */
function safeValidationMessage(raw: string): string {
  try {
    const parsed = JSON.parse(raw) as { property?: string; message?: string; summary?: string };
    const field = parsed.property?.replace(/^\//, "").replace(/\//g, ".");
    return `Invalid request: ${field ? `${field}: ` : ""}${parsed.summary ?? parsed.message ?? "invalid value"}`;
  } catch {
    return "Invalid request.";
  }
}

export function logFailure(log: Logger, error: GatewayError, requestId: string, path: string): void {
  if (error.kind === "internal") {
    const cause = error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}\n${error.cause.stack ?? ""}` : String(error.cause);
    log.error("internal error", { request_id: requestId, path, cause });
  } else if (error.status >= 500) {
    log.warn("request failed", { request_id: requestId, path, kind: error.kind, message: error.message });
  } else {
    log.debug("request refused", { request_id: requestId, path, kind: error.kind });
  }
}

/**
 * The whole render stage for a failed request: Elysia's or our error → GatewayError, logged once, the
 * dialect's body, the request id and (once the workspace is known) the rate-limit headers.
 */
export function renderError(
  services: { log: Logger; metrics: GatewayMetrics },
  code: string | number,
  thrown: unknown,
  request: Request,
  encodeBody: (error: GatewayError) => string,
): Response {
  const error = gatewayErrorFromElysia(code, thrown);
  const requestId = requestIdFor(request);
  const path = new URL(request.url).pathname;
  logFailure(services.log, error, requestId, path);
  services.metrics.countResponse(metricGroup(path), error.status, error.code);
  return errorResponse(error, requestId, encodeBody, rateLimitHeadersFor(request));
}

/** A low-cardinality name for the endpoint a path belongs to (ids in paths never become labels). */
export function metricGroup(path: string): string {
  if (path === "/v1/chat/completions") return "chat_completions";
  if (path === "/v1/messages") return "messages";
  if (path === "/v1/messages/count_tokens") return "count_tokens";
  if (path === "/v1/embeddings") return "embeddings";
  if (path.startsWith("/v1/models")) return "models";
  if (path.startsWith("/admin/")) return "admin";
  if (path.startsWith("/v1/billing/")) return "billing";
  if (path.startsWith("/v1/byok/")) return "byok";
  if (path.startsWith("/v1/")) return "management";
  return "other";
}

/**
 * The headers of an answer that is not an inference call (management, models, admin; SPEC §6): the
 * request id under its three names, cost and token figures of 0, and the workspace's rate limits once
 * its key was read (`authenticateRequest`).
 */
export function answerHeaders(request: Request): Record<string, string> {
  return {
    ...requestIdHeaders(requestIdFor(request)),
    ...ZERO_FIGURE_HEADERS,
    ...rateLimitHeadersFor(request),
  };
}

/** A JSON answer with `answerHeaders`. */
export function jsonResponse(request: Request, body: unknown, status = 200): Response {
  return Response.json(body, { status, headers: answerHeaders(request) });
}

export function errorResponse(
  error: GatewayError,
  requestId: string,
  encodeBody: (error: GatewayError) => string,
  extraHeaders?: Record<string, string>,
): Response {
  const body = error.verbatimBody ?? encodeBody(error);
  return new Response(body, { status: error.status, headers: errorHeaders(error, requestId, extraHeaders) });
}
