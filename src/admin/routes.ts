/**
 * The operator's admin API under /admin/v1 (SPEC §4 "Other"), behind `security.admin_token`: list and
 * create workspaces, show one with its wallet, grant credit. Errors render in OpenAI's shape.
 */

import { Elysia } from "elysia";
import type { Deps } from "../deps.ts";
import { renderOpenAIError } from "../dialects/openai/routes.ts";
import { GatewayError } from "../errors.ts";
import { readStrictBody, stampAnswerHeaders } from "../management/routes.ts";
import { grant, grantCheck, walletOf } from "../management/wallet.ts";
import { createWorkspace, createWorkspaceCheck, getWorkspace, listWorkspaces } from "../management/workspaces.ts";
import { checkAdminToken } from "./auth.ts";

export function adminRoutes(deps: Deps) {
  return new Elysia({ name: "tollgate.admin" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderOpenAIError(deps, code, error, request))
    .onBeforeHandle(async ({ request, set }) => {
      stampAnswerHeaders(request, set.headers);
      checkAdminToken(deps.config.security.adminToken, request.headers);
      // Balances and spend include the calls answered a moment ago (their commits may be pending).
      await deps.wallet.drained();
    })
    .get("/admin/v1/workspaces", () => listWorkspaces(deps))
    .post("/admin/v1/workspaces", async ({ request, set }) => {
      const created = await createWorkspace(deps, await readStrictBody(deps, request, createWorkspaceCheck));
      set.status = 201;
      return created;
    })
    .get("/admin/v1/workspaces/:id", async ({ params }) => ({
      ...(await getWorkspace(deps, params.id)),
      wallet: await walletOf(deps, params.id),
    }))
    .post("/admin/v1/workspaces/:id/grants", async ({ request, params, set }) => {
      const created = await grant(deps, params.id, await readStrictBody(deps, request, grantCheck));
      set.status = 201;
      return created;
    });
}
