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

/** The presented key's principal, whatever its kind: 401 when it is missing, unknown, revoked or disabled. */
export async function identify(keyCache: KeyCache, headers: Headers, need: AuthNeed): Promise<Principal> {
  const presented = readPresentedKey(headers);
  if (!presented) {
    const what = need === "any" ? "a Tollgate key" : NEED_TEXT[need];
    throw new GatewayError("invalid_api_key", `Missing API key: send ${what} as 'Authorization: Bearer …' or 'x-api-key'.`);
  }
  const found = await keyCache.lookup(presented);
  if (!found || found.key.disabled) throw new GatewayError("invalid_api_key", "Invalid API key: it is unknown, revoked or disabled.");
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

/** 401 for a key of the wrong kind; the message says which kind the endpoint needs. */
export function requireKind(principal: Principal, need: AuthNeed): void {
  if (need === "any" || principal.keyKind === need) return;
  throw new GatewayError("invalid_api_key", `This endpoint needs ${NEED_TEXT[need]}; ${principal.keyKind === "live" ? "an inference" : "a management"} key was sent.`);
}

/**
 * The authenticate stage for a route that draws nothing from the workspace's buckets (management, models): its
 * answer, and an error after this point, show the buckets as they stand (SPEC §6, §7).
 */
export async function authenticateRequest(services: GatewayServices & { keyCache: KeyCache }, request: Request, need: AuthNeed): Promise<Principal> {
  const principal = await identify(services.keyCache, request.headers, need);
  // A key of the wrong kind still names its workspace: its 401 shows the buckets too (SPEC §7).
  rememberRateLimit(request, rateLimitPeek(services, principal.workspaceId));
  requireKind(principal, need);
  return principal;
}
