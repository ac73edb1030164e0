/**
 * The management API (SPEC §4, management key): keys, workspace settings, wallet, usage, generations.
 * Routes are thin: authenticate, read the strict body, call the service. Errors render in OpenAI's
 * shape with the request id; management calls never draw on the workspace's rate limits.
 *
 * The key is checked before the body is read (a caller without a valid key learns nothing about the
 * schema), and bodies are checked by compiled closed TypeBox objects rather than Elysia `body` schemas:
 * Elysia's default normalization silently drops unknown fields, where this API answers 400.
 */

import type { Static, TSchema } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Deps } from "../deps.ts";
import { renderOpenAIError } from "../dialects/openai/routes.ts";
import { GatewayError } from "../errors.ts";
import { authenticateRequest } from "../http/auth.ts";
import { readBodyText } from "../http/body.ts";
import { answerHeaders } from "../http/render.ts";
import { createKey, createKeyCheck, getKey, listKeys, revokeKey, updateKey, updateKeyCheck } from "./keys.ts";
import { generation, recentUsage, usageTotals, type QueryParams } from "./usage.ts";
import { parseBody } from "./validation.ts";
import { walletOf } from "./wallet.ts";
import { getWorkspace, updateWorkspace, updateWorkspaceCheck } from "./workspaces.ts";
import type { SchemaCheck } from "../lib/lazy-check.ts";

/** The request's JSON body (size-limited by `max_body_bytes`), checked against a closed schema. */
export async function readStrictBody<T extends TSchema>(deps: Pick<Deps, "config">, request: Request, check: SchemaCheck<T>): Promise<Static<T>> {
  return parseBody(check, await readBodyText(request, deps.config.server.maxBodyBytes));
}

/** Query parameters as a plain record (a repeated parameter keeps its last value). */
export function queryParams(request: Request): QueryParams {
  return Object.fromEntries(new URL(request.url).searchParams);
}

/** `answerHeaders` on a route's answer (its errors get theirs from the renderer). */
export function stampAnswerHeaders(request: Request, headers: Record<string, string | number>): void {
  Object.assign(headers, answerHeaders(request));
}

export function managementRoutes(deps: Deps) {
  return new Elysia({ name: "tollgate.management" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderOpenAIError(deps, code, error, request))
    .resolve(async ({ request, set }) => {
      const principal = await authenticateRequest(deps, request, "mgmt");
      stampAnswerHeaders(request, set.headers);
      // Calls answered a moment ago may still be committing: what this request reads includes them.
      await deps.wallet.drained();
      return { workspaceId: principal.workspaceId };
    })
    .post("/v1/keys", async ({ request, workspaceId, set }) => {
      const input = await readStrictBody(deps, request, createKeyCheck);
      const created = await createKey(deps, workspaceId, input);
      set.status = 201;
      return created;
    })
    .get("/v1/keys", ({ workspaceId }) => listKeys(deps, workspaceId))
    .get("/v1/keys/:id", ({ workspaceId, params }) => getKey(deps, workspaceId, params.id))
    .patch("/v1/keys/:id", async ({ request, workspaceId, params }) =>
      updateKey(deps, workspaceId, params.id, await readStrictBody(deps, request, updateKeyCheck)),
    )
    .delete("/v1/keys/:id", ({ workspaceId, params }) => revokeKey(deps, workspaceId, params.id))
    .get("/v1/workspace", ({ workspaceId }) => getWorkspace(deps, workspaceId))
    .patch("/v1/workspace", async ({ request, workspaceId }) =>
      updateWorkspace(deps, workspaceId, await readStrictBody(deps, request, updateWorkspaceCheck)),
    )
    .get("/v1/wallet", ({ workspaceId }) => walletOf(deps, workspaceId))
    .get("/v1/usage/recent", ({ request, workspaceId }) => recentUsage(deps, workspaceId, queryParams(request)))
    .get("/v1/usage", ({ request, workspaceId }) => usageTotals(deps, workspaceId, queryParams(request)))
    .get("/v1/generations/:request_id", ({ workspaceId, params }) => generation(deps, workspaceId, params.request_id));
}
