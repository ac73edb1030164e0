/**
 * GET /v1/models and /v1/models/{id}: Anthropic's list shape ({data, has_more, first_id, last_id},
 * paged by limit/after_id/before_id) when the request has an `anthropic-version` header, else OpenAI's
 * ({object:"list", data}). Every entry also carries Tollgate's figures (SPEC §4). Any key kind.
 */

import { Elysia } from "elysia";
import type { ModelProfile } from "../config/types.ts";
import type { Deps } from "../deps.ts";
import type { ChannelHealth } from "../routing/health.ts";
import { GatewayError } from "../errors.ts";
import { authenticateRequest } from "../http/auth.ts";
import { H } from "../http/headers.ts";
import { answerHeaders, renderError } from "../http/render.ts";
import { encodeAnthropicErrorBody } from "./anthropic/encode-error.ts";
import { encodeOpenAIErrorBody } from "./openai/encode-error.ts";

const USD_PER_MTOK = 100_000_000;

function usdPerMtok(microcents: bigint): number {
  return Number(microcents) / USD_PER_MTOK;
}

const round1 = (value: number | null) => (value === null ? null : Math.round(value * 10) / 10);

/** A model's measured figures: the traffic-weighted mean of its channels' (null until measured). */
function measured(health: ChannelHealth, profile: ModelProfile) {
  let calls = 0;
  let ttft = 0;
  let tpsCalls = 0;
  let tps = 0;
  const channels = profile.channels.map((channel) => {
    const stats = health.snapshot(channel.key);
    if (stats.ttftMs !== null) {
      calls += stats.measuredCalls;
      ttft += stats.ttftMs * stats.measuredCalls;
    }
    if (stats.tokensPerSecond !== null) {
      tpsCalls += stats.measuredCalls;
      tps += stats.tokensPerSecond * stats.measuredCalls;
    }
    return {
      provider: channel.provider.id,
      model: channel.upstreamModel,
      pool: channel.provider.pool,
      tokens_per_second: round1(stats.tokensPerSecond),
      ttft_ms: round1(stats.ttftMs),
    };
  });
  return { ttftMs: calls > 0 ? round1(ttft / calls) : null, tokensPerSecond: tpsCalls > 0 ? round1(tps / tpsCalls) : null, channels };
}

/** Tollgate's figures, shared by both shapes. Measured speed is null until traffic measured it. */
function tollgateFields(profile: ModelProfile, health: ChannelHealth) {
  const speed = measured(health, profile);
  return {
    context_window: profile.contextWindow,
    max_output_tokens: profile.maxOutputTokens,
    pricing: {
      input_usd_per_mtok: usdPerMtok(profile.price.inputPerMtok),
      output_usd_per_mtok: usdPerMtok(profile.price.outputPerMtok),
      cache_read_usd_per_mtok: usdPerMtok(profile.price.cacheReadPerMtok),
      cache_write_usd_per_mtok: usdPerMtok(profile.price.cacheWritePerMtok),
    },
    capabilities: [...profile.capabilities],
    aliases: [...profile.aliases],
    tokens_per_second: speed.tokensPerSecond,
    ttft_ms: speed.ttftMs,
    channels: speed.channels,
  };
}

function openAIEntry(profile: ModelProfile, createdSec: number, health: ChannelHealth) {
  return { id: profile.id, object: "model", created: createdSec, owned_by: "tollgate", ...tollgateFields(profile, health) };
}

function anthropicEntry(profile: ModelProfile, createdAt: string, health: ChannelHealth) {
  return { id: profile.id, type: "model", display_name: profile.displayName, created_at: createdAt, ...tollgateFields(profile, health) };
}

function readLimit(value: string | null): number {
  if (value === null) return 20;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new GatewayError("invalid_request", "Invalid request: limit must be an integer from 1 to 1000.", { param: "limit" });
  return limit;
}

/** Anthropic's cursor paging over the configured order. */
function anthropicPage(profiles: readonly ModelProfile[], query: URLSearchParams) {
  const limit = readLimit(query.get("limit"));
  const afterId = query.get("after_id");
  const beforeId = query.get("before_id");
  let start = 0;
  let end = profiles.length;
  if (afterId !== null) start = profiles.findIndex((profile) => profile.id === afterId) + 1;
  if (beforeId !== null) end = Math.max(0, profiles.findIndex((profile) => profile.id === beforeId));
  const window = beforeId !== null && afterId === null ? profiles.slice(Math.max(start, end - limit), end) : profiles.slice(start, Math.min(end, start + limit));
  const first = window[0];
  const last = window.at(-1);
  const hasMore = beforeId !== null && afterId === null ? profiles.indexOf(first as ModelProfile) > 0 : profiles.indexOf(last as ModelProfile) < end - 1;
  return { window, hasMore: window.length > 0 && hasMore, firstId: first?.id ?? null, lastId: last?.id ?? null };
}

export function modelRoutes(deps: Deps) {
  const createdMs = deps.clock.now();
  const createdSec = Math.floor(createdMs / 1000);
  const createdAt = new Date(createdSec * 1000).toISOString();
  const isAnthropic = (request: Request) => request.headers.has(H.anthropicVersion);

  return new Elysia({ name: "tollgate.models" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderError(deps, code, error, request, isAnthropic(request) ? encodeAnthropicErrorBody : encodeOpenAIErrorBody))
    .get("/v1/models", async ({ request }) => {
      await authenticateRequest(deps, request, "any");
      const profiles = deps.config.models;
      if (!isAnthropic(request)) return Response.json({ object: "list", data: profiles.map((profile) => openAIEntry(profile, createdSec, deps.health)) }, { headers: answerHeaders(request) });
      const page = anthropicPage(profiles, new URL(request.url).searchParams);
      return Response.json({
        data: page.window.map((profile) => anthropicEntry(profile, createdAt, deps.health)),
        has_more: page.hasMore,
        first_id: page.firstId,
        last_id: page.lastId,
      }, { headers: answerHeaders(request) });
    })
    .get("/v1/models/:id", async ({ request, params }) => {
      await authenticateRequest(deps, request, "any");
      // Elysia has already decoded the path parameter.
      const profile = deps.catalog.resolve(params.id);
      if (!profile) throw new GatewayError("model_not_found", `The model '${params.id}' does not exist.`, { param: "model" });
      return Response.json(isAnthropic(request) ? anthropicEntry(profile, createdAt, deps.health) : openAIEntry(profile, createdSec, deps.health), { headers: answerHeaders(request) });
    });
}
