/** createApp: the Elysia composition root. Wiring only: every behaviour lives in the plugins. */

import { Elysia } from "elysia";
import type { Deps } from "./deps.ts";
import { anthropicRoutes, renderAnthropicError } from "./dialects/anthropic/routes.ts";
import { modelRoutes } from "./dialects/models.ts";
import { openaiRoutes, renderOpenAIError } from "./dialects/openai/routes.ts";
import { H } from "./http/headers.ts";
import { healthRoutes } from "./http/health.ts";

export function createApp(deps: Deps) {
  return new Elysia({ name: "tollgate" })
    .onError(({ code, error, request }) =>
      request.headers.has(H.anthropicVersion) ? renderAnthropicError(deps, code, error, request) : renderOpenAIError(deps, code, error, request),
    )
    .use(healthRoutes(deps))
    .use(modelRoutes(deps))
    .use(openaiRoutes(deps))
    .use(anthropicRoutes(deps));
}

export type App = ReturnType<typeof createApp>;
