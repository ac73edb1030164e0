/** GET /healthz (the process answers) and GET /readyz (database reachable, migrations applied). */

import { Elysia } from "elysia";
import { migrationStatus } from "../db/migrate.ts";
import type { Deps } from "../deps.ts";

export function healthRoutes(deps: Deps) {
  return new Elysia({ name: "tollgate.health" })
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
