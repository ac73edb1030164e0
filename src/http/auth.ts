/**
 * Authenticate stage: the presented key (Bearer or x-api-key) → Principal, through the key cache.
 * Unknown, revoked or disabled keys and keys of the wrong kind get 401; the message names the kind needed.
 */

import { GatewayError } from "../errors.ts";
import { rateLimitPeek } from "../gateway/admit.ts";
import type { Principal } from "../gateway/context.ts";
import type { GatewayServices } from "../gateway/services.ts";
import type { KeyCache } from "../keys/cache.ts";
import { readPresentedKey } from "./headers.ts";
import { rememberRateLimit } from "./rate-limit-headers.ts";

export type AuthNeed = "live" | "mgmt" | "any";

const NEED_TEXT: Record<Exclude<AuthNeed, "any">, string> = {
  live: "an inference key (tg-live-…)",
  mgmt: "a management key (tg-mgmt-…)",
};

export async function authenticate(keyCache: KeyCache, headers: Headers, need: AuthNeed): Promise<Principal> {
  const presented = readPresentedKey(headers);
  if (!presented) {
    const what = need === "any" ? "a Tollgate key" : NEED_TEXT[need];
    throw new GatewayError("invalid_api_key", `Missing API key: send ${what} as 'Authorization: Bearer …' or 'x-api-key'.`);
  }
  const found = await keyCache.lookup(presented);
  if (!found || found.key.disabled) throw new GatewayError("invalid_api_key", "Invalid API key: it is unknown, revoked or disabled.");
  if (need !== "any" && found.key.kind !== need) {
    throw new GatewayError("invalid_api_key", `This endpoint needs ${NEED_TEXT[need]}; ${found.key.kind === "live" ? "an inference" : "a management"} key was sent.`);
  }
  return {
    keyId: found.key.id,
    keyKind: found.key.kind,
    keyRoute: found.key.route,
    keyUsageEvent: found.key.usageEvent,
    workspaceId: found.workspace.id,
    workspaceName: found.workspace.name,
    workspaceRoute: found.workspace.defaultRoute,
    workspaceUsageEvent: found.workspace.usageEvent,
    dailyCapMicrocents: found.workspace.dailyCapMicrocents,
    monthlyCapMicrocents: found.workspace.monthlyCapMicrocents,
  };
}

/**
 * `authenticate` for a route that draws nothing from the workspace's buckets (management, models): its
 * answer, and an error after this point, show the buckets as they stand (SPEC §6, §7).
 */
export async function authenticateRequest(services: GatewayServices & { keyCache: KeyCache }, request: Request, need: AuthNeed): Promise<Principal> {
  const principal = await authenticate(services.keyCache, request.headers, need);
  rememberRateLimit(request, rateLimitPeek(services, principal.workspaceId));
  return principal;
}
