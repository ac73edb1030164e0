/** Route strings (`auto|cheapest|fastest|pool:<slug>`), shared by config, headers and the management API. */

import type { Route } from "./types.ts";

const POOL_SLUG = /^[a-z0-9][a-z0-9_-]*$/;

export function parseRoute(text: string): Route | null {
  const value = text.trim();
  if (value === "auto" || value === "cheapest" || value === "fastest") return { type: value };
  if (value.startsWith("pool:")) {
    const slug = value.slice(5);
    return POOL_SLUG.test(slug) ? { type: "pool", slug } : null;
  }
  return null;
}

export function formatRoute(route: Route): string {
  return route.type === "pool" ? `pool:${route.slug}` : route.type;
}
