/** createApp: the Elysia composition root. Wiring only: every behaviour lives in the plugins. */

import { Elysia } from "elysia";
import type { Deps } from "./deps.ts";
import { anthropicRoutes, renderAnthropicError } from "./dialects/anthropic/routes.ts";
import { modelRoutes } from "./dialects/models.ts";
import { openaiRoutes, renderOpenAIError } from "./dialects/openai/routes.ts";
import { H } from "./http/headers.ts";
import { healthRoutes } from "./http/health.ts";
import { adminRoutes } from "./admin/routes.ts";
import { billingRoutes } from "./management/billing-routes.ts";
import { byokRoutes } from "./management/byok-routes.ts";
import { managementRoutes } from "./management/routes.ts";

export function createApp(deps: Deps) {
  return new Elysia({ name: "tollgate" })
    // Management and admin first: their own error handler answers in OpenAI's shape whatever the headers.
    .use(managementRoutes(deps))
    .use(adminRoutes(deps))
    .use(byokRoutes(deps, deps.byok))
    .use(billingRoutes(deps, deps.stripe))
    // Paths no route matched; every route group renders its own errors in its own dialect.
    .onError(({ code, error, request }) => {
      if (code !== "NOT_FOUND") return undefined;
      return request.headers.has(H.anthropicVersion) ? renderAnthropicError(deps, code, error, request) : renderOpenAIError(deps, code, error, request);
    })
    .use(healthRoutes(deps))
    .use(modelRoutes(deps))
    .use(openaiRoutes(deps))
    .use(anthropicRoutes(deps));
}

export type App = ReturnType<typeof createApp>;
