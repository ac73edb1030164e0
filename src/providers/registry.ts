/** The one place that maps a provider kind to its adapter: no provider switch anywhere else. */

import type { ProviderConfig } from "../config/types.ts";
import { createMockAdapter } from "./mock/adapter.ts";
import type { AdapterFactory, ProviderAdapter } from "./types.ts";

const FACTORIES: Partial<Record<ProviderConfig["kind"], AdapterFactory>> = {
  mock: createMockAdapter,
};

/** One adapter per configured provider, built once at startup. */
export function buildAdapters(providers: readonly ProviderConfig[]): ReadonlyMap<string, ProviderAdapter> {
  const adapters = new Map<string, ProviderAdapter>();
  for (const provider of providers) {
    const factory = FACTORIES[provider.kind];
    if (factory) adapters.set(provider.id, factory(provider));
  }
  return adapters;
}
