/**
 * The accept and authenticate stages shared by every inference route: the request id, the key (of the
 * kind the route needs), the size-checked JSON body, and the RequestContext the pipeline runs with.
 */

import type { Dialect } from "../canonical/dialect.ts";
import type { Deps } from "../deps.ts";
import type { RequestContext } from "../gateway/context.ts";
import { parseJsonBody } from "../gateway/validate.ts";
import { authenticate, type AuthNeed } from "./auth.ts";
import { readBodyText } from "./body.ts";
import { requestIdFor } from "./request-id.ts";

export interface AcceptedCall {
  ctx: RequestContext;
  raw: Record<string, unknown>;
}

export async function acceptInference(deps: Deps, request: Request, dialect: Dialect, need: AuthNeed = "live"): Promise<AcceptedCall> {
  const startedAtPerf = performance.now();
  const requestId = requestIdFor(request);
  const principal = await authenticate(deps.keyCache, request.headers, need);
  const raw = parseJsonBody(await readBodyText(request, deps.config.server.maxBodyBytes));
  return {
    raw,
    ctx: {
      requestId,
      startedAtMs: deps.clock.now(),
      startedAtPerf,
      dialect,
      principal,
      signal: request.signal,
      headers: request.headers,
    },
  };
}

/** An InferenceOutcome as the HTTP response. */
export function toResponse(outcome: { status: number; headers: Record<string, string>; body: string | ReadableStream<Uint8Array> }): Response {
  return new Response(outcome.body, { status: outcome.status, headers: outcome.headers });
}
