/** What most commands share: the config (with --config), an opened and migrated database, lookups. */

import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import type { OpenedDatabase } from "../db/client.ts";
import { openMigratedDatabase } from "../db/migrate.ts";
import { WorkspaceRepo, type WorkspaceRow } from "../db/repo/workspaces.ts";
import { CliFailure, type CliIo } from "./io.ts";

export interface CommandEnv {
  config: Config;
  configPath: string | null;
  database: OpenedDatabase;
  workspaces: WorkspaceRepo;
}

/** Loads the config, opens the database and applies pending migrations (idempotent). */
export function openCommandEnv(io: CliIo, explicitConfig: string | undefined): CommandEnv {
  const { config, path } = loadConfig({ explicitPath: explicitConfig, env: io.env, cwd: io.cwd });
  const database = openMigratedDatabase(config.server.database);
  return { config, configPath: path, database, workspaces: new WorkspaceRepo(database.db) };
}

export async function requireWorkspace(env: CommandEnv, name: string): Promise<WorkspaceRow> {
  const workspace = await env.workspaces.findByName(name);
  if (!workspace) throw new CliFailure(`no workspace named '${name}' (see \`tollgate workspace list\`)`);
  return workspace;
}

export async function withCommandEnv<T>(io: CliIo, explicitConfig: string | undefined, run: (env: CommandEnv) => Promise<T>): Promise<T> {
  const env = openCommandEnv(io, explicitConfig);
  try {
    return await run(env);
  } finally {
    env.database.close();
  }
}
