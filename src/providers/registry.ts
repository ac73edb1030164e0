/** The one place that maps a provider kind to its adapter: no provider switch anywhere else. */

import type { ProviderKind } from "../config/schema.ts";
import type { ProviderConfig } from "../config/types.ts";
import { createAnthropicAdapter } from "./anthropic/adapter.ts";
import { createMockAdapter } from "./mock/adapter.ts";
import { createOpenAIAdapter } from "./openai/adapter.ts";
import type { AdapterFactory, ProviderAdapter } from "./types.ts";

const FACTORIES: Record<ProviderKind, AdapterFactory> = {
  openai: createOpenAIAdapter,
  anthropic: createAnthropicAdapter,
  mock: createMockAdapter,
};

/** One adapter per configured provider, built once at startup. */
export function buildAdapters(providers: readonly ProviderConfig[]): ReadonlyMap<string, ProviderAdapter> {
  return new Map(providers.map((provider) => [provider.id, FACTORIES[provider.kind](provider)]));
}
