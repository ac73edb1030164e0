/**
 * `tollgate init`: write a starter config (config.example.toml, on the offline mock provider) if none
 * exists, migrate, create workspace `default` with a small operator grant, and print a management key
 * and an inference key (shown once). A second run reuses `default` and prints new keys.
 */

import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { grantCredit } from "../billing/ledger.ts";
import { formatUsd } from "../billing/money.ts";
import { DEMO_CONFIG_TOML } from "../config/demo.ts";
import { KeyRepo } from "../db/repo/keys.ts";
import type { Command } from "./command.ts";
import { withCommandEnv } from "./context.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson } from "./io.ts";

/** The starter grant of a new `default` workspace: $5, enough to try the gateway. */
const STARTER_GRANT_MICROCENTS = 500_000_000;
const DEFAULT_WORKSPACE = "default";

export const initCommand: Command = {
  name: "init",
  summary: "write a starter config, create workspace 'default' and print its keys",
  usage: "tollgate init [--config FILE] [--json]",
  async run(args, io) {
    const { values } = parseCommandArgs(args, COMMON_OPTIONS, { min: 0, max: 0 });
    const configPath = resolve(io.cwd, values.config ?? (io.env.TOLLGATE_CONFIG || "tollgate.toml"));
    const wroteConfig = !existsSync(configPath);
    if (wroteConfig) writeFileSync(configPath, DEMO_CONFIG_TOML, { flag: "wx" });
    return withCommandEnv(io, configPath, async (env) => {
      const now = Date.now();
      let workspace = await env.workspaces.findByName(DEFAULT_WORKSPACE);
      const createdWorkspace = workspace === null;
      if (!workspace) {
        workspace = await env.workspaces.create(DEFAULT_WORKSPACE, now);
        grantCredit(env.database.db, {
          workspaceId: workspace.id,
          amountMicrocents: STARTER_GRANT_MICROCENTS,
          source: "grant",
          note: "starter grant from tollgate init",
          nowMs: now,
          validityDays: env.config.billing.creditValidityDays,
          idempotencyKey: `init-grant:${workspace.id}`,
        });
      }
      const keys = new KeyRepo(env.database.db);
      const management = await keys.create({ workspaceId: workspace.id, kind: "mgmt", name: "init", nowMs: now });
      const inference = await keys.create({ workspaceId: workspace.id, kind: "live", name: "init", nowMs: now });
      if (values.json) {
        printJson(io, {
          config: configPath,
          database: env.config.server.database,
          workspace: { id: workspace.id, name: workspace.name },
          management_key: management.key,
          inference_key: inference.key,
        });
      } else {
        io.stderr(wroteConfig ? `wrote starter config ${configPath}\n` : `using existing config ${configPath}\n`);
        io.stderr(`database ${env.config.server.database} is migrated\n`);
        io.stderr(
          createdWorkspace
            ? `created workspace '${DEFAULT_WORKSPACE}' with a ${formatUsd(STARTER_GRANT_MICROCENTS)} starter grant\n`
            : `workspace '${DEFAULT_WORKSPACE}' exists; issued new keys\n`,
        );
        io.stdout(`management key: ${management.key}\ninference key:  ${inference.key}\n`);
        io.stderr("keys are shown once: store them now. Start the gateway with `tollgate serve`.\n");
      }
      return 0;
    });
  },
};
