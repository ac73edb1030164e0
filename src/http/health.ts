/**
 * Operational endpoints: GET /healthz (the process answers), GET /readyz (database reachable,
 * migrations applied), GET /metrics (Prometheus; behind the admin token when one is configured).
 */

import { Elysia } from "elysia";
import { migrationStatus } from "../db/migrate.ts";
import { sameSecret } from "../admin/auth.ts";
import type { Deps } from "../deps.ts";
import { readPresentedKey } from "./headers.ts";

export function healthRoutes(deps: Deps) {
  const adminToken = deps.config.security.adminToken;
  return new Elysia({ name: "tollgate.health" })
    .get("/metrics", async ({ request }) => {
      // With an admin token configured, the scraper presents it (Prometheus: bearer_token).
      if (adminToken !== null) {
        const presented = readPresentedKey(request.headers);
        if (presented === null || !sameSecret(presented, adminToken)) return new Response("unauthorized\n", { status: 401 });
      }
      const { body, contentType } = await deps.metrics.render();
      return new Response(body, { headers: { "content-type": contentType } });
    })
    .get("/healthz", () => Response.json({ status: "ok" }))
    .get("/readyz", () => {
      try {
        const status = migrationStatus(deps.database.sqlite);
        if (status.pending > 0) return Response.json({ status: "migrations_pending", pending: status.pending }, { status: 503 });
        return Response.json({ status: "ready", migrations: status.applied });
      } catch {
        return Response.json({ status: "database_unreachable" }, { status: 503 });
      }
    });
}
