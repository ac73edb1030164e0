/**
 * Plan stage: the ordered candidates of a call — the requested model's channels in route order (open
 * circuits skipped), then each X-Tollgate-Fallback-Models model's, left to right (SPEC §5).
 */

import type { ChatRequest } from "../canonical/request.ts";
import { parseRoute } from "../config/route.ts";
import type { ChannelConfig, ModelProfile, Route } from "../config/types.ts";
import { GatewayError } from "../errors.ts";
import type { ProviderAdapter } from "../providers/types.ts";
import type { RequestContext } from "./context.ts";
import type { GatewayServices } from "./services.ts";

export interface Candidate {
  /** The public model this channel serves (the primary, or a fallback model). */
  profile: ModelProfile;
  channel: ChannelConfig;
  adapter: ProviderAdapter;
  /** False for a fallback model's channels. */
  primary: boolean;
}

/** The model id → profile, with the capability checks the request needs (tools, vision). */
export function resolveProfile(services: GatewayServices, request: ChatRequest, modelId: string = request.model): ModelProfile {
  const profile = services.catalog.resolve(modelId);
  if (!profile) throw new GatewayError("model_not_found", `The model '${modelId}' does not exist.`, { param: "model" });
  if (request.tools.length > 0 && !profile.capabilities.has("tools"))
    throw new GatewayError("invalid_request", `The model '${modelId}' does not support tools.`, { param: "tools" });
  const hasImage = request.messages.some((message) => message.content.some((block) => block.type === "image"));
  if (hasImage && !profile.capabilities.has("vision"))
    throw new GatewayError("invalid_request", `The model '${modelId}' does not accept images.`, { param: "messages" });
  return profile;
}

/** The route as applied: header > key > workspace > config (SPEC §5); an invalid header is 400. */
export function applicableRoute(services: GatewayServices, ctx: RequestContext): { text: string; route: Route } {
  const text = ctx.options.route ?? ctx.principal.keyRoute ?? ctx.principal.workspaceRoute;
  if (text === null) return { text: formatDefault(services), route: services.config.routing.default };
  const route = parseRoute(text);
  if (!route) throw new GatewayError("invalid_request", `Invalid route '${text}': expected auto, cheapest, fastest or pool:<slug>.`, { param: "x-tollgate-route" });
  return { text, route };
}

function formatDefault(services: GatewayServices): string {
  const route = services.config.routing.default;
  return route.type === "pool" ? `pool:${route.slug}` : route.type;
}

function candidatesOf(services: GatewayServices, profile: ModelProfile, route: Route, primary: boolean): Candidate[] {
  return services.planner.plan(profile, route).flatMap((channel) => {
    const adapter = services.adapters.get(channel.provider.id);
    return adapter ? [{ profile, channel, adapter, primary }] : [];
  });
}

export function planCandidates(services: GatewayServices, ctx: RequestContext, request: ChatRequest, primary: ModelProfile, route: Route): Candidate[] {
  const candidates: Candidate[] = [];
  let firstError: GatewayError | null = null;
  const add = (profile: ModelProfile, isPrimary: boolean) => {
    try {
      candidates.push(...candidatesOf(services, profile, route, isPrimary));
    } catch (error) {
      if (!(error instanceof GatewayError) || error.kind !== "no_healthy_channel") throw error;
      firstError ??= error;
    }
  };
  add(primary, true);
  for (const modelId of ctx.options.fallbackModels) {
    const profile = resolveProfile(services, request, modelId);
    if (profile.id !== primary.id) add(profile, false);
  }
  if (candidates.length === 0) throw firstError ?? new GatewayError("no_healthy_channel", `No channel can serve '${primary.id}' right now.`);
  return candidates;
}
