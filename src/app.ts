/** createApp: the Elysia composition root. Wiring only: every behaviour lives in the plugins. */

import { Elysia } from "elysia";
import type { Deps } from "./deps.ts";
import { openaiRoutes, renderOpenAIError } from "./dialects/openai/routes.ts";
import { healthRoutes } from "./http/health.ts";

export function createApp(deps: Deps) {
  return new Elysia({ name: "tollgate" })
    .onError(({ code, error, request }) => renderOpenAIError(deps, code, error, request))
    .use(healthRoutes(deps))
    .use(openaiRoutes(deps));
}

export type App = ReturnType<typeof createApp>;
