/**
 * BYOK management (SPEC §4): POST|GET /v1/byok/keys, DELETE /v1/byok/keys/{provider}, with a management
 * key. Keys go in once and come back only masked; errors render in OpenAI's shape.
 */

import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { Deps } from "../deps.ts";
import { encodeOpenAIErrorBody } from "../dialects/openai/encode-error.ts";
import { GatewayError } from "../errors.ts";
import { authenticateRequest } from "../http/auth.ts";
import { readBodyText } from "../http/body.ts";
import { jsonResponse, renderError } from "../http/render.ts";
import { ByokVault } from "../keys/byok.ts";
import { compileBody, parseBody } from "./validation.ts";

/**
 * Closed body, types only: emptiness and lengths are the vault's checks. Checked by the management
 * body check rather than an Elysia `body` schema, whose validation documents echo the value (the key).
 */
const storeBody = compileBody(
  Type.Object(
    {
      provider: Type.String({ minLength: 1 }),
      api_key: Type.String(),
      label: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    },
    { additionalProperties: false },
  ),
);

/** A 4 KB key, a label and JSON punctuation fit well inside; no reason to read megabytes here. */
const MAX_STORE_BODY_BYTES = 16 * 1024;

/** `vault` defaults to one built from deps; pass the pipeline's instance to share it. */
export function byokRoutes(deps: Deps, vault: ByokVault = new ByokVault(deps.config, deps.database.db, deps.clock)) {
  return new Elysia({ name: "tollgate.byok" })
    .error({ GatewayError })
    .onError(({ code, error, request }) => renderError(deps, code, error, request, encodeOpenAIErrorBody))
    .post("/v1/byok/keys", async ({ request }) => {
      const principal = await authenticateRequest(deps, request, "mgmt");
      const body = parseBody(storeBody, await readBodyText(request, Math.min(deps.config.server.maxBodyBytes, MAX_STORE_BODY_BYTES)));
      return jsonResponse(request, await vault.store(principal.workspaceId, body.provider, body.api_key, body.label ?? null), 201);
    })
    .get("/v1/byok/keys", async ({ request }) => {
      const principal = await authenticateRequest(deps, request, "mgmt");
      return jsonResponse(request, { data: await vault.list(principal.workspaceId) });
    })
    .delete("/v1/byok/keys/:provider", async ({ request, params }) => {
      const principal = await authenticateRequest(deps, request, "mgmt");
      await vault.remove(principal.workspaceId, params.provider);
      return jsonResponse(request, { provider: params.provider, deleted: true });
    });
}
