/**
 * The accept and authenticate stages shared by every inference route: the request id, the key (of the
 * kind the route needs), the size-checked JSON body, and the RequestContext the pipeline runs with.
 */

import type { Dialect } from "../canonical/dialect.ts";
import type { Deps } from "../deps.ts";
import { GatewayError } from "../errors.ts";
import type { CallOptions, RequestContext } from "../gateway/context.ts";
import type { InferenceOutcome } from "../gateway/dispatch.ts";
import { SSE_HEADERS } from "../sse/encode.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { parseJsonBody } from "../gateway/validate.ts";
import { identify, requireKind, type AuthNeed } from "./auth.ts";
import { rateLimitPeek } from "../gateway/admit.ts";
import { figureHeaders } from "./error-response.ts";
import { readBodyText } from "./body.ts";
import { rateLimitHeaders, rememberContext, rememberRateLimit } from "./rate-limit-headers.ts";
import { H, readFlag } from "./headers.ts";
import { requestIdFor, requestIdHeaders } from "./request-id.ts";

export interface AcceptedCall {
  ctx: RequestContext;
  raw: Record<string, unknown>;
}

export async function acceptInference(deps: Deps, request: Request, dialect: Dialect, need: AuthNeed = "live"): Promise<AcceptedCall> {
  const startedAtPerf = performance.now();
  const requestId = requestIdFor(request);
  const principal = await identify(deps.keyCache, request.headers, need);
  // From here on the workspace is known: every response, errors included (a key of the wrong kind's
  // 401 among them), carries its rate limits.
  const rateLimit = rateLimitPeek(deps, principal.workspaceId);
  try {
    requireKind(principal, need);
  } catch (error) {
    rememberRateLimit(request, rateLimit);
    throw error;
  }
  const ctx: RequestContext = {
    requestId,
    startedAtMs: deps.clock.now(),
    startedAtPerf,
    dialect,
    principal,
    signal: request.signal,
    options: readCallOptions(request.headers),
    rateLimit,
  };
  // The call's own snapshot from now on: admission and settlement move it.
  rememberContext(request, ctx);
  const raw = parseJsonBody(await readBodyText(request, deps.config.server.maxBodyBytes));
  return { raw, ctx };
}

const FORWARDED_HEADERS = [H.anthropicVersion, H.anthropicBeta] as const;

export function readCallOptions(headers: Headers): CallOptions {
  const forwardHeaders: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = headers.get(name);
    if (value) forwardHeaders[name] = value;
  }
  return {
    route: headers.get(H.route)?.trim() || null,
    usageEvent: readFlag(headers, H.usageEvent),
    forwardHeaders,
    maxPriceMicrocents: readMaxPrice(headers),
    byok: readFlag(headers, H.byok) === true,
    fallbackModels: (headers.get(H.fallbackModels) ?? "")
      .split(",")
      .map((model) => model.trim())
      .filter((model) => model !== ""),
  };
}

function readMaxPrice(headers: Headers): number | null {
  const value = headers.get(H.maxPrice)?.trim();
  if (value === undefined || value === "") return null;
  if (!/^\d{1,15}$/.test(value))
    throw new GatewayError("invalid_request", `${H.maxPrice} must be a whole number of microcents, got '${value}'.`, { param: H.maxPrice });
  return Number(value);
}

/** Anything but visible ASCII, and the list's own "," and the escape's "%". */
const UNSAFE_IN_HEADER = /[^\x21-\x24\x26-\x2b\x2d-\x7e]/gu;
const utf8 = new TextEncoder();

/**
 * A dropped field's name as a header value can carry it: names come from the client's own keys and block
 * types, and a line break, a comma or a character past ASCII would break the header (Response throws, after
 * the upstream answered). Those characters, and "%", are percent-encoded as UTF-8.
 */
export function headerSafeFieldName(name: string): string {
  return name.replace(UNSAFE_IN_HEADER, (char) => Array.from(utf8.encode(char), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join(""));
}

/**
 * An InferenceOutcome as the HTTP response (SPEC §6): the request id, the billed model, dropped fields;
 * a finished call's cost and token figures; a stream's input estimate (its final figures travel in-band).
 */
export function toResponse(outcome: InferenceOutcome, ctx: RequestContext, metrics: GatewayMetrics, group: string): Response {
  metrics.countResponse(group, 200, "");
  const headers: Record<string, string> = {
    ...(outcome.stream ? SSE_HEADERS : { "content-type": "application/json" }),
    ...requestIdHeaders(outcome.requestId),
    ...rateLimitHeaders(ctx.rateLimit),
    [H.billedModel]: outcome.billedModel,
  };
  if (outcome.dropped.length > 0) headers[H.droppedFields] = outcome.dropped.map(headerSafeFieldName).join(",");
  if (outcome.summary) Object.assign(headers, figureHeaders(outcome.summary));
  else headers[H.tokensInput] = String(outcome.inputEstimate);
  return new Response(outcome.body, { status: 200, headers });
}
