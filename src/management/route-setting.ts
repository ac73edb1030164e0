/**
 * A route setting (key or workspace): `auto|cheapest|fastest|pool:<slug>`, or null for "inherit". A pool
 * route must name a pool some provider is in, or every call through it would fail with 503.
 */

import { formatRoute, parseRoute } from "../config/route.ts";
import type { Config } from "../config/types.ts";
import { GatewayError } from "../errors.ts";

/** The normalized route text, or null; a 400 naming `field` when it is not a usable route. */
export function routeSetting(config: Config, value: string | null, field: string): string | null {
  if (value === null) return null;
  const route = parseRoute(value);
  if (!route) throw new GatewayError("invalid_request", `Invalid request: '${field}' must be auto, cheapest, fastest or pool:<slug>.`, { param: field });
  if (route.type === "pool" && !config.providers.some((provider) => provider.pool === route.slug)) {
    throw new GatewayError("invalid_request", `Invalid request: '${field}': no provider is in pool '${route.slug}'.`, { param: field });
  }
  return formatRoute(route);
}
