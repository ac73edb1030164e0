/**
 * The management and admin plugins on a test gateway (until src/app.ts mounts them; the plugins are
 * named, so mounting them twice is a no-op), plus small request helpers for their JSON APIs.
 */

import { adminRoutes } from "../../src/admin/routes.ts";
import { managementRoutes } from "../../src/management/routes.ts";
import { MOCK_CONFIG, startGateway, type GatewayOptions, type TestGateway } from "../harness/gateway.ts";

/** MOCK_CONFIG with its mock provider in pool `economy` (for pool routes). */
export const POOL_CONFIG = MOCK_CONFIG.replace('kind = "mock"', 'kind = "mock"\npool = "economy"');

export function withManagement(gateway: TestGateway): TestGateway {
  gateway.app.use(managementRoutes(gateway.deps)).use(adminRoutes(gateway.deps));
  return gateway;
}

export async function startManagedGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  return withManagement(await startGateway(options));
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

/** A JSON call with a key (the workspace's management key unless given); body objects are sent as JSON. */
export async function call<T = Record<string, unknown>>(
  gateway: TestGateway,
  method: string,
  path: string,
  options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const key = options.key === undefined ? gateway.mgmtKey : options.key;
  const headers: Record<string, string> = { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  const response = await gateway.handle(new Request(`${gateway.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) }));
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text === "" ? null : JSON.parse(text)) as T };
}

/** One non-stream chat call through the OpenAI route; returns the response (headers carry the figures). */
export function chat(gateway: TestGateway, key: string, content = "hello there", model = "mock-model", extra: Record<string, unknown> = {}): Promise<Response> {
  return gateway.handle(
    new Request(`${gateway.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, messages: [{ role: "user", content }], ...extra }),
    }),
  );
}
