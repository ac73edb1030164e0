/**
 * The operator's admin token (`security.admin_token`): without one configured every /admin path is 404;
 * with one, a request must present it (Bearer, or x-api-key like every Tollgate key), compared in
 * constant time over SHA-256 digests so neither the content nor the length leaks through timing.
 */

import { timingSafeEqual } from "node:crypto";
import { GatewayError } from "../errors.ts";
import { readPresentedKey } from "../http/headers.ts";

function digest(text: string): Buffer {
  return Buffer.from(new Bun.CryptoHasher("sha256").update(text).digest());
}

export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export function checkAdminToken(adminToken: string | null, headers: Headers): void {
  // The same answer as any unknown path: a gateway without an admin token has no admin API.
  if (adminToken === null) throw new GatewayError("not_found", "No such endpoint.");
  const presented = readPresentedKey(headers);
  if (presented === null || !sameSecret(presented, adminToken)) {
    throw new GatewayError("invalid_api_key", "This endpoint needs the operator's admin token (security.admin_token) as 'Authorization: Bearer …'.");
  }
}
